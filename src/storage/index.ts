/** Public API of the storage edge: the RaftStorage contract and its two backends. */
export { StorageError, type BootState, type PersistBatch, type RaftStorage, type StorageErrorCode, type StorageStats } from './types.js';
export { MemoryDisk, MemoryStorage, MEMORY_FORMAT_VERSION, type MemoryStorageOptions, type StorageIdentity } from './memory-storage.js';

/** Public API of the storage edge: the RaftStorage contract and its two backends. */
export { StorageError, type BootState, type PersistBatch, type RaftStorage, type StorageErrorCode, type StorageIdentity, type StorageStats } from './types.js';
export { MemoryDisk, MemoryStorage, MEMORY_FORMAT_VERSION, type MemoryStorageOptions } from './memory-storage.js';
export { LevelStorage, type LevelStorageOptions } from './level-storage.js';
export { FORMAT_VERSION as LEVEL_FORMAT_VERSION } from './level-codec.js';
export { wholeSnapshot } from './whole-snapshot.js';

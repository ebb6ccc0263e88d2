/** Backups of a running installation and their restore on a stopped node (README, "Operating Anju"). */
export { backupFormat, manifestFile, manifestSchema, type BackupManifest } from './manifest.js';
export { takeBackup, type BackupSource } from './take.js';
export { restoreBackup, verifyBackup, type RestoreResult } from './restore.js';
export { backupFolderName, rotateBackups } from './rotate.js';
export { createBackupStaging, type BackupStaging } from './staging.js';

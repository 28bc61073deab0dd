/* The repository layout, shared by every command:
 *   ibstream.repo                 format marker, written once
 *   backups/<id>/data.NNNN        packs of data frames
 *   backups/<id>/redo.NNNN        packs of redo frames
 *   backups/<id>/manifest         written last: the backup exists once it does */
#ifndef IBS_ENGINE_REPO_H
#define IBS_ENGINE_REPO_H

#define ENG_REPO_MARKER "ibstream.repo"
#define ENG_REPO_FORMAT 1
#define ENG_BACKUPS_DIR "backups"
#define ENG_MANIFEST_NAME "manifest"

#endif

/* What a command moved, for the metrics file (see ops.h): the engine notes
 * it, the command line reads it when it writes the metrics at exit. */
#include "engine/ops.h"

#include <stdatomic.h>

static _Atomic uint64_t noted_read, noted_stored;
static atomic_bool noted;

void eng_ops_note_bytes(uint64_t bytes_read, uint64_t bytes_stored)
{
    atomic_fetch_add(&noted_read, bytes_read);
    atomic_fetch_add(&noted_stored, bytes_stored);
    atomic_store(&noted, true);
}

void eng_ops_noted_bytes(uint64_t *bytes_read, uint64_t *bytes_stored, bool *any)
{
    *bytes_read = atomic_load(&noted_read);
    *bytes_stored = atomic_load(&noted_stored);
    *any = atomic_load(&noted);
}

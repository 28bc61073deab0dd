/* Unit tests of redo/: log header and checkpoints, mini-transaction framing and
 * records, and record apply. */
#include "redo_test.h"

int main(void)
{
    int failed = 0;
    failed += run_log_tests();
    failed += run_mtr_tests();
    failed += run_apply_tests();
    return failed ? 1 : 0;
}

# Prepare and restore proven against mariabackup and against invariants
# (tests/integration/prepare_*.sh, e2e_*.sh; see docs/prepare.md).
foreach(workload sysbench dml formats compressed ddl)
    ibs_integration_test(NAME prepare_oracle_${workload} COMMAND prepare_oracle.sh ${workload}
                         LABELS prepare TIMEOUT 300)
endforeach()
# Under load with invariants, restored server compared with the source after a
# binlog replay; at the default page size and at 4K and 64K.
ibs_integration_test(NAME e2e_invariants COMMAND e2e_invariants.sh LABELS prepare e2e TIMEOUT 300)
foreach(ps 4k 64k)
    ibs_integration_test(NAME e2e_invariants_${ps} COMMAND e2e_invariants.sh ${ps}
                         LABELS prepare e2e TIMEOUT 300)
endforeach()
# prepare twice changes nothing; damage is refused with exit 6 / 12 and where.
ibs_integration_test(NAME prepare_idempotent COMMAND prepare_idempotent.sh LABELS prepare TIMEOUT 300)
ibs_integration_test(NAME prepare_corrupt COMMAND prepare_corrupt.sh LABELS prepare TIMEOUT 300)

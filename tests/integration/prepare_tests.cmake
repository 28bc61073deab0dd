# Prepare and restore proven against mariabackup and against invariants
# (tests/integration/prepare_*.sh, e2e_*.sh; see docs/prepare.md).
foreach(workload sysbench dml formats compressed ddl)
    ibs_integration_test(NAME prepare_oracle_${workload} COMMAND prepare_oracle.sh ${workload}
                         LABELS prepare TIMEOUT 300)
endforeach()

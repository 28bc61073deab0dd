# Incremental backups: chains restored and compared with the source.
ibs_integration_test(NAME incremental_chain COMMAND incremental_chain.sh LABELS incremental TIMEOUT 600)
ibs_integration_test(NAME incremental_oracle COMMAND incremental_oracle.sh LABELS incremental TIMEOUT 300)
ibs_integration_test(NAME incremental_long_chain COMMAND incremental_long_chain.sh LABELS incremental TIMEOUT 300)
ibs_integration_test(NAME incremental_workload COMMAND incremental_workload.sh LABELS incremental TIMEOUT 300)

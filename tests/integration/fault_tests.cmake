# Fault campaign (docs/reliability.md): backups killed with SIGKILL, S3
# answering with faults, a restore target that runs out of space. Bounded:
# a few minutes together on 2 cores.
ibs_integration_test(NAME fault_kill COMMAND fault_kill.sh LABELS fault backup TIMEOUT 600)
ibs_integration_test(NAME fault_s3 COMMAND fault_s3.sh LABELS fault backup s3 TIMEOUT 600)

# Fault campaign (docs/reliability.md): backups killed with SIGKILL, S3
# answering with faults, a restore target that runs out of space. Bounded:
# a few minutes together on 2 cores.
ibs_integration_test(NAME fault_kill COMMAND fault_kill.sh LABELS fault backup TIMEOUT 600)
ibs_integration_test(NAME fault_s3 COMMAND fault_s3.sh LABELS fault backup s3 TIMEOUT 600)
# Needs a tmpfs mount in a private mount namespace (root, or user namespaces);
# skipped (77) otherwise.
ibs_integration_test(NAME fault_nospace COMMAND fault_nospace.sh LABELS fault restore TIMEOUT 300)
set_tests_properties(fault_nospace PROPERTIES SKIP_RETURN_CODE 77)

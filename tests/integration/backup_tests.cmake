# Acceptance tests of the full backup: real servers (each test starts its own
# through lib.sh), a local or S3 repository, restore, prepare, and a server
# started on the result. Helpers live in workload/.
ibs_integration_test(NAME backup_full_layout COMMAND backup_full_layout.sh
    LABELS backup TIMEOUT 300)
ibs_integration_test(NAME backup_bad_input COMMAND backup_bad_input.sh
    LABELS backup TIMEOUT 300)
ibs_integration_test(NAME backup_page_size COMMAND backup_page_size.sh
    LABELS backup TIMEOUT 300)
ibs_integration_test(NAME backup_s3 COMMAND backup_s3.sh LABELS backup s3 TIMEOUT 300)
ibs_integration_test(NAME backup_log_overwritten COMMAND backup_log_overwritten.sh
    LABELS backup TIMEOUT 300)
ibs_integration_test(NAME backup_ddl COMMAND backup_ddl.sh LABELS backup TIMEOUT 300)
ibs_integration_test(NAME backup_compressed_new COMMAND backup_compressed_new.sh LABELS backup TIMEOUT 300)

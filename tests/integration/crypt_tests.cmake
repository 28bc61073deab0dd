# Client-side encryption (engine/crypt*), included by tests/integration/CMakeLists.txt.
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME crypt_backup COMMAND crypt_backup.sh
                         LABELS crypt backup TIMEOUT 300)
endif()

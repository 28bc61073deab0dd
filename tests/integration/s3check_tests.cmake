# `ibstream check`, the repository pre-flight, included by
# tests/integration/CMakeLists.txt: against the loopback emulator and local
# directories (s3check_cli.sh).
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME s3check_cli COMMAND s3check_cli.sh SERVICES s3 LABELS s3 check
                         TIMEOUT 300)
endif()

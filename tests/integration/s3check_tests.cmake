# `ibstream check`, the repository pre-flight, included by
# tests/integration/CMakeLists.txt: against the loopback emulator and local
# directories (s3check_cli.sh).
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME s3check_cli COMMAND s3check_cli.sh SERVICES s3 LABELS s3 check
                         TIMEOUT 300)
endif()

# Against a real Ceph RADOS Gateway (tests/ceph/with-rgw starts a one-node
# cluster on memstore in about 30 s): store conformance with S3's listing
# order and multipart listing/abort, and `ibstream check` with bucket policies
# that withhold one permission each. Label "ceph"; skipped (77) where Ceph is
# not installed. `ctest -L ceph` runs it alone.
if(TARGET store_conformance)
    add_test(NAME s3check_ceph
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/ceph/with-rgw
                     bash ${CMAKE_CURRENT_LIST_DIR}/s3check_ceph.sh $<TARGET_FILE:store_conformance>)
    set_tests_properties(s3check_ceph PROPERTIES
        LABELS "integration;ceph;check" TIMEOUT 600 SKIP_RETURN_CODE 77
        ENVIRONMENT "IBSTREAM=$<TARGET_FILE:ibstream>;IBS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()

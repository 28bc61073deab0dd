# Store integration tests, included by tests/integration/CMakeLists.txt: the
# conformance suite for every driver, and S3 through the fault proxy
# (tests/faultproxy/faultproxy.py).
add_executable(store_conformance ${CMAKE_CURRENT_LIST_DIR}/store_conformance.c)
target_link_libraries(store_conformance PRIVATE ibs_s3 PkgConfig::XXHASH PkgConfig::CMOCKA)

add_executable(store_faults ${CMAKE_CURRENT_LIST_DIR}/store_faults.c)
target_link_libraries(store_faults PRIVATE ibs_s3 PkgConfig::XXHASH PkgConfig::CMOCKA)

if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME store_conformance_local COMMAND store_conformance --local-tmp
                         LABELS store TIMEOUT 600)
    ibs_integration_test(NAME store_conformance_s3 COMMAND store_conformance --s3
                         SERVICES s3 LABELS store TIMEOUT 900)
    ibs_integration_test(NAME store_faults
                         COMMAND store_faults ${PROJECT_SOURCE_DIR}/tests/faultproxy/faultproxy.py
                         SERVICES s3 LABELS store TIMEOUT 900)
    # 77: this build has no S3 driver yet.
    set_tests_properties(store_conformance_s3 store_faults PROPERTIES SKIP_RETURN_CODE 77)
else()
    # Without the harness: the local driver needs no service.
    add_test(NAME store_conformance_local COMMAND store_conformance --local-tmp)
    set_tests_properties(store_conformance_local PROPERTIES LABELS "integration;store" TIMEOUT 600)
endif()

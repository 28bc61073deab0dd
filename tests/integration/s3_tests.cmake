# S3 driver integration tests, included by tests/integration/CMakeLists.txt.
# s3_store: the driver against the loopback emulator (multipart stream, ranged
# and parallel reads, pagination, batch delete, error messages).
# s3_interop: objects written by ibstream's store read back by `aws s3 cp`, and
# the reverse.
add_executable(s3_store ${CMAKE_CURRENT_LIST_DIR}/s3_store.c)
target_link_libraries(s3_store PRIVATE ibs_s3 PkgConfig::CRYPTO PkgConfig::CMOCKA)

if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME s3_store COMMAND s3_store SERVICES s3 LABELS s3 TIMEOUT 900)
    # bench_s3_stream (bench/) copies stdin to an object and back through the store API.
    ibs_integration_test(NAME s3_interop COMMAND s3_interop.sh $<TARGET_FILE:bench_s3_stream>
                         SERVICES s3 LABELS s3 TIMEOUT 600)
endif()

# Operations tests (list, info, verify, lock, expire, cleanup, metrics, docs),
# included by tests/integration/CMakeLists.txt.
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME ops_list_verify COMMAND ops_list_verify.sh SERVICES mariadb
                         LABELS ops TIMEOUT 300)
endif()
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME ops_expire_lock COMMAND ops_expire_lock.sh SERVICES mariadb
                         LABELS ops TIMEOUT 300)
endif()
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME ops_s3 COMMAND ops_s3.sh SERVICES s3 mariadb
                         LABELS ops s3 TIMEOUT 300)
endif()
if(COMMAND ibs_integration_test)
    ibs_integration_test(NAME ops_docs COMMAND ops_docs.sh LABELS ops TIMEOUT 300)
endif()

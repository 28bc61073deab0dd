# Integration tests of engine/server and engine/discover against a real
# MariaDB server (C programs linked with ibs_engine, run by with-mariadb).

add_executable(engine_server_session ${CMAKE_CURRENT_LIST_DIR}/engine_server_session.c)
target_link_libraries(engine_server_session PRIVATE ibs_engine)
ibs_integration_test(NAME engine_server_session COMMAND engine_server_session
    SERVICES mariadb LABELS engine TIMEOUT 300)

add_executable(engine_server_discover ${CMAKE_CURRENT_LIST_DIR}/engine_server_discover.c)
target_link_libraries(engine_server_discover PRIVATE ibs_engine)
ibs_integration_test(NAME engine_server_discover COMMAND engine_server_discover
    SERVICES mariadb LABELS engine TIMEOUT 300)

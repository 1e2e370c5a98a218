# cel_add_test(NAME SOURCES src... [LIBS lib...] [LABELS l...]
#              [FIXTURES f...] [TIMEOUT s])
# One executable and one CTest entry per test file. Every test has a timeout,
# scaled under sanitizers, so that a result that never comes fails the test
# instead of hanging the suite.
set(CEL_TEST_TIMEOUT_FACTOR 1)
if(CEL_SANITIZE)
    set(CEL_TEST_TIMEOUT_FACTOR 3)
endif()

function(cel_add_test name)
    cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;FIXTURES" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 60)
    endif()
    math(EXPR timeout "${T_TIMEOUT} * ${CEL_TEST_TIMEOUT_FACTOR}")
    add_executable(${name} ${T_SOURCES})
    cel_target_defaults(${name})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
    target_link_libraries(${name} PRIVATE ${T_LIBS})
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}"
                         TIMEOUT ${timeout})
    if(T_FIXTURES)
        set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
    endif()
endfunction()

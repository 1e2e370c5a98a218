# cel_target_defaults(TARGET): the feature macros and warnings every celeriac
# target is built with. Set per target, not through CMAKE_C_FLAGS, so that
# nothing leaks into code we do not own.
function(cel_target_defaults target)
    target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
        -Wformat=2 -Wvla)
    if(CEL_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

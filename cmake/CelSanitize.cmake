# CEL_SANITIZE: AddressSanitizer and UndefinedBehaviorSanitizer on every
# target, compile and link alike. UBSan does not recover, so any finding
# fails the test that triggered it.
if(CEL_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()

# CEL_FUZZ: libFuzzer coverage on every target (clang only); the fuzz
# targets link the fuzzer's main themselves. ASan and UBSan come too.
if(CEL_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "CEL_FUZZ needs clang: -DCMAKE_C_COMPILER=clang")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                        -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()

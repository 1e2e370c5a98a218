# CEL_SANITIZE: AddressSanitizer and UndefinedBehaviorSanitizer on every
# target, compile and link alike. UBSan does not recover, so any finding
# fails the test that triggered it.
if(CEL_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()

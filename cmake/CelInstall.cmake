# CelInstall.cmake: libceleriac (shared, with a soname, and static), the
# headers, celeriac.pc, the CMake package (find_package(celeriac) gives
# celeriac::celeriac and celeriac::task), workerd and celeriac, the man
# pages, the systemd unit template, and the .deb (cpack -G DEB).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# One library of the three parts a program links: common, broker-client
# and producer. The task API is not in it: task modules resolve it
# against the workerd that loads them.
set(cel_lib_objects $<TARGET_OBJECTS:cel_common> $<TARGET_OBJECTS:cel_broker>
                    $<TARGET_OBJECTS:cel_producer>)
set(cel_public_includes
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/common/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/broker-client/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/producer/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/worker/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
find_package(Threads REQUIRED)

# (The target is libceleriac: celeriac is the command line client.)
add_library(libceleriac SHARED ${cel_lib_objects})
set_target_properties(libceleriac PROPERTIES OUTPUT_NAME celeriac
    EXPORT_NAME celeriac
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/celeriac.map)
target_link_options(libceleriac PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/celeriac.map -Wl,--no-undefined)

add_library(celeriac_static STATIC ${cel_lib_objects})
set_target_properties(celeriac_static PROPERTIES OUTPUT_NAME celeriac)

foreach(t libceleriac celeriac_static)
    target_include_directories(${t} INTERFACE ${cel_public_includes})
    target_link_libraries(${t} PUBLIC PkgConfig::JANSSON Threads::Threads
        PRIVATE PkgConfig::RABBITMQ PkgConfig::UUID PkgConfig::ZLIB BZip2::BZip2 m)
endforeach()

# The headers a task module compiles against: no library to link.
add_library(celeriac_task INTERFACE)
target_include_directories(celeriac_task INTERFACE ${cel_public_includes})
target_link_libraries(celeriac_task INTERFACE PkgConfig::JANSSON)
set_target_properties(celeriac_task PROPERTIES EXPORT_NAME task)

install(TARGETS libceleriac celeriac_static celeriac_task EXPORT celeriacTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS workerd celeriac RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir common broker-client producer worker)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/include/cel
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
endforeach()

# pkg-config: relative to the .pc file, so the tree can move (cpack).
configure_file(${PROJECT_SOURCE_DIR}/cmake/celeriac.pc.in
               ${PROJECT_BINARY_DIR}/celeriac.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/celeriac.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(cel_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/celeriac)
install(EXPORT celeriacTargets NAMESPACE celeriac:: DESTINATION ${cel_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/celeriacConfig.cmake.in
    ${PROJECT_BINARY_DIR}/celeriacConfig.cmake INSTALL_DESTINATION ${cel_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/celeriacConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/celeriacConfig.cmake
              ${PROJECT_BINARY_DIR}/celeriacConfigVersion.cmake
        DESTINATION ${cel_cmake_dir})

foreach(page workerd.8 celeriac.1 celeriac.3 cel_task.3)
    string(REGEX REPLACE ".*\\." "" section ${page})
    install(FILES ${PROJECT_SOURCE_DIR}/man/${page}
            DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# systemd: one instance per task module, workerd@NAME reading
# /etc/celeriac/NAME.env; the unit names workerd where it is installed,
# so it is written at install time (cpack installs under /usr).
install(CODE "set(bindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    configure_file(\"${PROJECT_SOURCE_DIR}/deploy/systemd/workerd@.service.in\"
                   \"${PROJECT_BINARY_DIR}/workerd@.service\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/workerd@.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/example.env
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/celeriac)

# cpack -G DEB: one package, celeriac, under /usr, on Debian's own
# libraries.
set(CPACK_PACKAGE_NAME celeriac)
set(CPACK_PACKAGE_VENDOR celeriac)
set(CPACK_PACKAGE_CONTACT "celeriac maintainers <celeriac@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Celery-compatible task queue in C: libceleriac, workerd and celeriac")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "librabbitmq4 (>= 0.11), libjansson4 (>= 2.13), libuuid1, zlib1g, libbz2-1.0, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libjansson-dev, pkg-config")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/postrm
    ${PROJECT_SOURCE_DIR}/deploy/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

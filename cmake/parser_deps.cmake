# The libraries the input parsers need (data readers, image decoding, model file, splits):
# shared by the full build and the fuzzing build (tests/fuzz), which builds only the parsers.
find_package(nlohmann_json REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(LibArchive REQUIRED)
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
# OpenCV's imgcodecs/imgproc: the split Debian -dev packages ship no CMake config, so find
# the headers and libraries directly.
find_path(OPENCV_INCLUDE_DIR opencv2/imgcodecs.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(m core imgcodecs imgproc)
  find_library(OPENCV_${m}_LIBRARY opencv_${m} REQUIRED)
  list(APPEND OIAD_OPENCV_LIBRARIES ${OPENCV_${m}_LIBRARY})
endforeach()

# libtorch discovery, in the documented order:
#   1. LIBTORCH            an unpacked libtorch (its share/cmake/Torch)
#   2. LIBTORCH_USE_PYTORCH=1  python3's torch.utils.cmake_prefix_path and its C++11 ABI flag
#   3. Torch_DIR / CMAKE_PREFIX_PATH
#   4. the system (Debian's libtorch-dev: /usr/lib/<triplet>/cmake/Torch)
set(_searched "")
set(_explicit "")          # LIBTORCH: search there and nowhere else
set(_python_torch "")      # LIBTORCH_USE_PYTORCH=1: the version the found libtorch must have
set(_give_up FALSE)
set(UNIMRG_TORCH_SOURCE "system")
if(DEFINED ENV{LIBTORCH} AND NOT "$ENV{LIBTORCH}" STREQUAL "")
  set(_explicit "$ENV{LIBTORCH}")
  set(UNIMRG_TORCH_SOURCE "LIBTORCH=$ENV{LIBTORCH}")
  list(APPEND _searched "LIBTORCH=$ENV{LIBTORCH} (only there: its share/cmake/Torch or lib/<arch>/cmake/Torch)")
elseif("$ENV{LIBTORCH_USE_PYTORCH}" STREQUAL "1")
  find_program(_python NAMES python3 python)
  execute_process(COMMAND ${_python} -c "import torch,torch.utils;print(torch.utils.cmake_prefix_path);print(torch.__version__)"
    OUTPUT_VARIABLE _py_out RESULT_VARIABLE _py_rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND _searched "LIBTORCH_USE_PYTORCH=1 (${_python} -c 'import torch' returned ${_py_rc})")
  if(_py_rc EQUAL 0)
    string(REPLACE "\n" ";" _py_lines "${_py_out}")
    list(GET _py_lines 0 _py_prefix)
    list(GET _py_lines 1 _python_torch)
    list(PREPEND CMAKE_PREFIX_PATH "${_py_prefix}")
    set(UNIMRG_TORCH_SOURCE "LIBTORCH_USE_PYTORCH (${_python})")
  else()
    set(_give_up TRUE)  # asked for and not there: no silent fallback to another libtorch
  endif()
else()
  list(APPEND _searched "Torch_DIR='${Torch_DIR}'" "CMAKE_PREFIX_PATH='${CMAKE_PREFIX_PATH}'" "the system's cmake package paths (Debian: /usr/lib/x86_64-linux-gnu/cmake/Torch)")
endif()

# A CUDA libtorch's config adds nvcc -gencode flags for TORCH_CUDA_ARCH_LIST, or else for a list
# it guesses (libtorch 2.6 guesses sm_50, which CUDA 13's nvcc refuses). Default it to the
# architectures our kernels are built for.
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND "$ENV{TORCH_CUDA_ARCH_LIST}" STREQUAL "")
  set(TORCH_CUDA_ARCH_LIST "")
  foreach(_arch IN LISTS UNIMRG_CUDA_ARCHITECTURES)
    string(REGEX REPLACE "^([0-9]+)([0-9])$" "\\1.\\2" _arch "${_arch}")
    list(APPEND TORCH_CUDA_ARCH_LIST "${_arch}")
  endforeach()
endif()

if(_give_up)
  # nothing to search
elseif(_explicit)
  # Its prefix first for every search TorchConfig makes itself (Caffe2's config, the libraries),
  # so that a system libtorch installed beside it cannot be mixed in.
  list(PREPEND CMAKE_PREFIX_PATH "${_explicit}")
  unset(Torch_DIR CACHE)
  find_package(Torch QUIET CONFIG PATHS "${_explicit}" NO_DEFAULT_PATH)
else()
  find_package(Torch QUIET)
endif()
if(NOT Torch_FOUND AND NOT TORCH_FOUND)
  string(REPLACE ";" "; " _searched_text "${_searched}")
  message(FATAL_ERROR
    "unimrg: libtorch was not found. Searched: ${_searched_text}. "
    "Provide it in one of these ways: on Debian or Ubuntu install the system package "
    "(sudo apt-get install libtorch-dev); or unpack a libtorch archive from pytorch.org and set "
    "LIBTORCH=/path/to/libtorch; or use the PyTorch of your Python (CUDA builds included) with "
    "LIBTORCH_USE_PYTORCH=1; or point Torch_DIR (or CMAKE_PREFIX_PATH) at the folder that holds "
    "TorchConfig.cmake. Then run npm rebuild unimrg.")
endif()

# Found through Torch_DIR / CMAKE_PREFIX_PATH rather than the system's folders: say where.
if(UNIMRG_TORCH_SOURCE STREQUAL "system" AND NOT Torch_DIR MATCHES "^/usr/(lib|lib64|share)/")
  set(UNIMRG_TORCH_SOURCE "Torch_DIR=${Torch_DIR}")
endif()

# Facts recorded into the addon (build_info.h) and beside it (unimrg-build.json).
set(UNIMRG_TORCH_VERSION "${Torch_VERSION}")
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h")
  file(STRINGS "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include/torch/version.h" _v REGEX "^ *\"[0-9]")
  if(_v)
    string(REGEX REPLACE "[ \"]" "" UNIMRG_TORCH_VERSION "${_v}")
  endif()
endif()
if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  if(CUDAToolkit_VERSION)
    set(UNIMRG_TORCH_CUDA "${CUDAToolkit_VERSION}")
  elseif(CUDA_VERSION)
    set(UNIMRG_TORCH_CUDA "${CUDA_VERSION}")
  else()
    set(UNIMRG_TORCH_CUDA "unknown")
  endif()
  set(UNIMRG_WITH_CUDA 1)
else()
  set(UNIMRG_TORCH_CUDA "")
  set(UNIMRG_WITH_CUDA 0)
endif()
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  set(UNIMRG_TORCH_CXX11_ABI false)
else()
  set(UNIMRG_TORCH_CXX11_ABI true)
endif()
get_filename_component(UNIMRG_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
if(_explicit)
  get_filename_component(_explicit_real "${_explicit}" REALPATH)
  get_filename_component(_lib_real "${UNIMRG_TORCH_LIBDIR}" REALPATH)
  string(FIND "${_lib_real}/" "${_explicit_real}/" _at)
  if(NOT _at EQUAL 0)
    message(FATAL_ERROR "unimrg: LIBTORCH=${_explicit} has TorchConfig.cmake, but its libraries resolved to "
      "${UNIMRG_TORCH_LIBDIR}, outside it; is that libtorch complete (lib/libtorch.so)?")
  endif()
endif()
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _found_minor "${UNIMRG_TORCH_VERSION}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _python_minor "${_python_torch}")
if(_python_torch AND NOT _found_minor STREQUAL _python_minor)
  message(FATAL_ERROR
    "unimrg: LIBTORCH_USE_PYTORCH=1 asks for the libtorch of ${_python} (torch ${_python_torch}), but the "
    "libtorch found is ${UNIMRG_TORCH_VERSION} (${TORCH_INSTALL_PREFIX}): that Python's torch carries no "
    "CMake package here (${_py_prefix}). Use LIBTORCH=/path/to/libtorch or Torch_DIR instead, or a "
    "Python whose torch has one (pip's torch does).")
endif()

message(STATUS "unimrg: libtorch ${UNIMRG_TORCH_VERSION} from ${UNIMRG_TORCH_SOURCE}, cuda='${UNIMRG_TORCH_CUDA}', lib ${UNIMRG_TORCH_LIBDIR}")

# Writes OUTPUT, a C++ file defining um::http::embedded_page_assets() (declared
# in http/page_assets.hpp): the name, bytes and SHA-256 of each file of FILES
# (a list joined with `|`, since a `;` would split the command line), in name
# order, so the binary serves its pages without finding files at run time.
string(REPLACE "|" ";" files "${FILES}")
list(SORT files)
set(arrays "")
set(entries "")
set(index 0)
foreach(file IN LISTS files)
  file(READ "${file}" content)
  string(FIND "${content}" ")__embedded__\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw string delimiter")
  endif()
  file(SHA256 "${file}" digest)
  get_filename_component(name "${file}" NAME)
  string(APPEND arrays
    "constexpr char file_${index}[] = R\"__embedded__(${content})__embedded__\";\n")
  string(APPEND entries
    "      {\"${name}\", {file_${index}, sizeof(file_${index}) - 1}, \"${digest}\"},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}"
  "// Generated from http/pages/ by cmake/EmbedAssets.cmake. Do not edit.\n"
  "#include \"http/page_assets.hpp\"\n"
  "namespace um::http {\n"
  "namespace {\n"
  "${arrays}"
  "} // namespace\n"
  "const std::vector<embedded_asset>& embedded_page_assets() {\n"
  "  static const std::vector<embedded_asset> files{\n"
  "${entries}"
  "  };\n"
  "  return files;\n"
  "}\n"
  "} // namespace um::http\n")

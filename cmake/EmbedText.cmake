# Writes OUTPUT, a C++ file defining `std::string_view NAME()` in namespace
# NAMESPACE that returns the bytes of INPUT, so the binary can serve a
# document without finding files at run time.
file(READ "${INPUT}" content)
string(FIND "${content}" ")__embedded__\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter")
endif()
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake. Do not edit.\n"
  "#include <string_view>\n"
  "namespace ${NAMESPACE} {\n"
  "std::string_view ${NAME}() {\n"
  "  static constexpr char text[] = R\"__embedded__(${content})__embedded__\";\n"
  "  return {text, sizeof(text) - 1};\n"
  "}\n"
  "} // namespace ${NAMESPACE}\n")

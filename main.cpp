#include "app/service.hpp"

int main(int argc, char** argv) {
  return um::app::run(argc, argv);
}

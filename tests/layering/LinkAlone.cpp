//===- tests/layering/LinkAlone.cpp - An empty program --------------------===//
//
// Linked with every object of one planner library (tests/layering/
// CMakeLists.txt) and only the libraries it declares: a symbol it takes
// from a library above it is an undefined reference. With
// REMAT_PROBE_UPWARD_CALL the program itself makes such a call (into
// remat_planner_chain), the negative control.
//
//===----------------------------------------------------------------------===//

#ifdef REMAT_PROBE_UPWARD_CALL
#include <cstdint>

namespace remat {
// Defined in planner/chain/Revolve.cpp.
uint64_t revolveOpCount(uint64_t L, uint64_t S);
} // namespace remat

int main() { return remat::revolveOpCount(3, 1) == 0; }
#else
int main() { return 0; }
#endif

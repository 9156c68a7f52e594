//===- tests/layering/IncludeProbe.cpp - One include, nothing else --------===//
//
// Compiled once per case of tests/layering/CMakeLists.txt, each time against
// one planner library with REMAT_PROBE_HEADER naming the header to include:
// the build either finds it through that library's dependencies or fails.
//
//===----------------------------------------------------------------------===//

#include REMAT_PROBE_HEADER

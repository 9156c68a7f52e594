//===- planner/core/ChainReplay.cpp - Words for the chain replay's faults -===//
//
// The rules themselves are inline in ChainReplay.h; this file only names
// tensors, ops and faults for messages.
//
//===----------------------------------------------------------------------===//

#include "planner/ChainReplay.h"

#include <fmt/format.h>

using namespace llvm;

namespace remat {

std::string chainTensorName(ChainTensor T, StringRef Bar) {
  switch (T.Kind) {
  case ChainTensorKind::X:
    return fmt::format("x_{}", T.Index);
  case ChainTensorKind::XBar:
    return fmt::format("{}_{}", Bar.str(), T.Index);
  case ChainTensorKind::Y:
    return fmt::format("y_{}", T.Index);
  }
  return "?";
}

std::string chainOpLabel(size_t Index, const ChainOp &Op) {
  if (Op.Kind == ChainOpKind::Loss)
    return fmt::format("op {} (loss)", Index);
  return fmt::format("op {} ({} layer {})", Index, chainOpName(Op.Kind).str(),
                     Op.Layer);
}

std::string chainFaultText(const ChainStep &S, unsigned NumStages,
                           StringRef Bar) {
  switch (S.Fault) {
  case ChainFault::None:
    return "";
  case ChainFault::LayerOutOfRange:
    return fmt::format("layer {} is out of range (the chain has {} stages)",
                       S.Culprit.Index, NumStages);
  case ChainFault::NotResident:
    return chainTensorName(S.Culprit, Bar) + " is not resident";
  case ChainFault::AlreadyResident:
    return chainTensorName(S.Culprit, Bar) + " is already resident";
  case ChainFault::LossRepeated:
    return "the loss has already run";
  }
  return "";
}

} // namespace remat

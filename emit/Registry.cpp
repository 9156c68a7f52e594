//===- emit/Registry.cpp - The list of trainers and shared defaults -------===//
//
// allTrainers reads emit/Trainers.def; the Trainer hooks' default wording
// of why a schedule is not expressible lives here.
//
//===----------------------------------------------------------------------===//

#include "emit/Trainer.h"

using namespace llvm;

namespace remat {

#define REMAT_TRAINER(Fn) const Trainer &Fn();
#include "emit/Trainers.def"

ArrayRef<const Trainer *> allTrainers() {
  static const Trainer *const All[] = {
#define REMAT_TRAINER(Fn) &Fn(),
#include "emit/Trainers.def"
  };
  return All;
}

const Trainer *findTrainer(StringRef Name) {
  for (const Trainer *T : allTrainers())
    if (T->name() == Name)
      return T;
  return nullptr;
}

std::string trainerList() {
  std::string S;
  for (const Trainer *T : allTrainers())
    S += (S.empty() ? "" : ", ") + T->name().str();
  return S;
}

std::string Trainer::multiLevelReason() const {
  return "the schedule recomputes at several levels (some stages run more "
         "than twice); " +
         name().str() + " checkpoints each segment once";
}

std::string Trainer::splitLayerRule() const {
  return "checkpoints whole layers";
}

std::string Trainer::outsideFamilyReason() const {
  return "its stored/recomputed layers and checkpoint boundaries are not in " +
         name().str() + "'s family of plans";
}

} // namespace remat

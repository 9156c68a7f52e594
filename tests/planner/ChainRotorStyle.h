//===- tests/planner/ChainRotorStyle.h - Rotor's discretisation -*- C++ -*-===//
//
// The persistent recurrence of docs/optimal-chain.md ("The recurrence"),
// discretised the way rotor discretises it (Beaumont et al., ACM TOMS 2024):
// N memory slots of u = floor(B / N) bytes each, every size rounded up to
// whole slots, and the plan must fit in N slots. Written for the tests from
// the recurrence as documented, by memoised recursion over (i, l, m); it
// shares no code with planner/ChainDP*. It returns only the optimal time.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_TESTS_PLANNER_CHAINROTORSTYLE_H
#define REMAT_TESTS_PLANNER_CHAINROTORSTYLE_H

#include "graph/Graph.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace remat::test {

class RotorStyleDP {
public:
  /// Discretises \p C for budget \p Budget bytes into \p Slots slots.
  RotorStyleDP(const Chain &C, uint64_t Budget, unsigned Slots)
      : C(C), L(C.size()), Unit(std::max<uint64_t>(1, Budget / Slots)),
        Slots(Slots) {}

  /// The least time of a persistent plan within the slots; infinity when
  /// none fits.
  double optimum() {
    uint64_t X0 = up(C.InputBytes);
    if (X0 > Slots)
      return Inf;
    Memo.assign(size_t(L + 1) * (L + 1) * (Slots + 1), -1);
    return opt(0, L, Slots - X0);
  }

private:
  static constexpr double Inf = std::numeric_limits<double>::infinity();

  uint64_t up(uint64_t Bytes) const { return (Bytes + Unit - 1) / Unit; }
  uint64_t a(unsigned K) const { return up(C.activationBytes(K)); }
  uint64_t abar(unsigned K) const { return up(C.Stages[K - 1].SavedBytes); }

  /// opt_{i,l}(m): Sub(i, l) with m slots besides what lies outside it.
  double opt(unsigned I, unsigned Lp, uint64_t M) {
    double &Slot = Memo[(size_t(I) * (L + 1) + Lp) * (Slots + 1) + M];
    if (Slot >= 0)
      return Slot;
    Slot = Inf;
    if (I == L) { // The loss alone: it adds y_L and its workspace.
      if (a(L) + up(C.Loss.BwdWorkspace) <= M)
        Slot = C.Loss.BwdTime;
      return Slot;
    }
    const Stage &S = C.Stages[I];
    uint64_t Y = Lp == L ? 0 : a(Lp + 1);
    // Record stage I: F_all_I, then Sub(I+1, l) from x̄_{I+1}, then B_I.
    if (Y + abar(I + 1) + up(S.FwdWorkspace) <= M &&
        abar(I + 1) + a(I + 1) + a(I) + up(S.BwdWorkspace) <= M) {
      double Rest = I == Lp ? 0 : opt(I + 1, Lp, M - abar(I + 1));
      Slot = std::min(Slot, S.FwdTime + S.BwdTime + Rest);
    }
    // Advance with F_ck_I, F_n_{I+1..J-1} to x_J; Sub(J, l); Sub(I, J-1).
    double Fwd = 0;
    for (unsigned J = I + 1; J <= Lp; ++J) {
      unsigned K = J - 1; // The op that produces x_J.
      uint64_t Peak = K == I
                          ? Y + a(I + 1) + up(S.FwdWorkspace)
                          : Y + a(K) + a(K + 1) + up(C.Stages[K].FwdWorkspace);
      if (Peak > M)
        break; // Later J run this op too.
      Fwd += C.Stages[K].FwdTime;
      if (a(J) > M)
        continue;
      Slot = std::min(Slot, Fwd + opt(J, Lp, M - a(J)) + opt(I, J - 1, M));
    }
    return Slot;
  }

  const Chain &C;
  unsigned L;
  uint64_t Unit;
  unsigned Slots;
  std::vector<double> Memo;
};

} // namespace remat::test

#endif // REMAT_TESTS_PLANNER_CHAINROTORSTYLE_H

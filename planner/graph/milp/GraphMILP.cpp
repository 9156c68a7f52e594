//===- planner/graph/milp/GraphMILP.cpp - Checkmate's MILP ----------------===//
//
// Variables, per stage t (0-based) of the frontier-advancing model:
//   R[t][k]  node k is computed in stage t (R[t][t] = 1);
//   S[t][i]  node i is resident when stage t starts;
//   F[t][i][k]  i (an operand of k, or k itself) is freed right after k;
//   U[t][k]  resident bytes right after k's compute slot, before its frees.
// F is Checkmate's linearised "no later reader in the stage and not kept
// for the next stage"; the peak of compute k is U[t][k] + workspace(k).
//
//===----------------------------------------------------------------------===//

#include "planner/GraphMILPBound.h"
#include "planner/graph/milp/GraphMILPBuilder.h"

#include "llvm/ADT/BitVector.h"

#include <algorithm>
#include <numeric>
#include <string>

using namespace llvm;

namespace remat {

std::vector<GraphOp> stageSolutionToOps(const Graph &G,
                                        ArrayRef<std::vector<unsigned>> R,
                                        ArrayRef<std::vector<unsigned>> S) {
  std::vector<GraphOp> Ops;
  BitVector Resident(G.size());
  SmallVector<unsigned, 0> Uses(G.size(), 0);
  for (size_t T = 0; T != R.size(); ++T) {
    BitVector Next(G.size());
    if (T + 1 < S.size())
      for (unsigned I : S[T + 1])
        Next.set(I);
    for (unsigned K : R[T])
      for (unsigned I : G.Nodes[K].Inputs)
        ++Uses[I];
    auto MaybeFree = [&](unsigned I) {
      if (Resident.test(I) && Uses[I] == 0 && !Next.test(I)) {
        Resident.reset(I);
        Ops.push_back({GraphOpKind::Free, I});
      }
    };
    for (unsigned K : R[T]) {
      Ops.push_back({GraphOpKind::Compute, K});
      Resident.set(K);
      for (unsigned I : G.Nodes[K].Inputs)
        --Uses[I];
      for (unsigned I : G.Nodes[K].Inputs)
        MaybeFree(I);
      MaybeFree(K);
    }
    for (unsigned I : Resident.set_bits())
      if (!Next.test(I))
        Ops.push_back({GraphOpKind::Free, I});
    BitVector Keep = Resident;
    Keep &= Next;
    Resident = Keep;
  }
  return Ops;
}

using milp::StageSets;

StageSets milp::opsToStages(const Graph &G, ArrayRef<GraphOp> Ops) {
  unsigned N = G.size();
  StageSets Out;
  auto &R = Out.R;
  auto &S = Out.S;
  R.assign(N, {});
  S.assign(N, {});
  BitVector Resident(N), Seen(N);
  unsigned Stage = 0;
  bool StageOpen = false;
  for (const GraphOp &Op : Ops) {
    if (Op.Kind == GraphOpKind::Free) {
      Resident.reset(Op.Node);
      continue;
    }
    if (!StageOpen && Stage < N) {
      for (unsigned I : Resident.set_bits())
        S[Stage].push_back(I);
      StageOpen = true;
    }
    if (Stage < N)
      R[Stage].push_back(Op.Node);
    Resident.set(Op.Node);
    if (!Seen.test(Op.Node) && Op.Node == Stage) {
      ++Stage;
      StageOpen = false;
    }
    Seen.set(Op.Node);
  }
  for (auto &Rt : R)
    std::sort(Rt.begin(), Rt.end());
  return Out;
}

#ifdef REMAT_HAVE_CBC

namespace milp {

void MilpBuilder::computeReach() {
  MaxDesc.assign(N, 0);
  In.assign(N, {});
  for (unsigned V = 0; V != N; ++V) {
    In[V].assign(G.Nodes[V].Inputs.begin(), G.Nodes[V].Inputs.end());
    std::sort(In[V].begin(), In[V].end());
    In[V].erase(std::unique(In[V].begin(), In[V].end()), In[V].end());
  }
  for (unsigned V = N; V-- != 0;) {
    MaxDesc[V] = V;
    for (unsigned U : G.Users[V]) {
      MaxDesc[V] = std::max(MaxDesc[V], MaxDesc[U]);
    }
  }
}

void MilpBuilder::chooseScale() {
  // With the gcd as unit, memory rows are integral, so CBC's tolerance
  // cannot let a plan exceed the budget by a byte.
  uint64_t Gcd = O.MinimizePeak ? 0 : O.BudgetBytes;
  uint64_t Max = 1;
  for (const Node &Nd : G.Nodes) {
    Gcd = std::gcd(Gcd, std::gcd(Nd.Bytes, Nd.Workspace));
    Max = std::max({Max, Nd.Bytes, Nd.Workspace});
  }
  Scale = double(std::max<uint64_t>(Gcd, 1));
  if (double(Max) / Scale > 1e6)
    Scale = double(Max) / 1e6;
}

void MilpBuilder::addColumns() {
  RCol.assign(size_t(N) * N, -1);
  SCol.assign(size_t(N) * N, -1);
  for (unsigned T = 0; T != N; ++T) {
    for (unsigned K = 0; K <= T; ++K)
      if (K == T || (!G.Users[K].empty() && MaxDesc[K] >= T))
        RCol[size_t(T) * N + K] =
            addCol(K == T ? 1 : 0, 1, O.MinimizePeak ? 0 : G.Nodes[K].Time,
                   true, "R_" + std::to_string(T) + "_" + std::to_string(K));
    // i may be kept into stage t while a reader of i can still run at or
    // after t: a first compute (reader >= t) or a recomputation (a reader
    // with a descendant >= t). Pruning at i's last reader instead, as this
    // model once did, excluded plans that keep an operand for a later
    // recomputation (transformer-21 at 60%: 178 "optimal", 177 exists).
    for (unsigned I = 0; I < T; ++I)
      if (!G.Users[I].empty() && MaxDesc[I] >= T)
        SCol[size_t(T) * N + I] = addCol(
            0, 1, 0, true, "S_" + std::to_string(T) + "_" + std::to_string(I));
  }
  double UHi = O.MinimizePeak ? 1e30 : mem(O.BudgetBytes);
  FCols.assign(N, {});
  UCols.assign(N, {});
  for (unsigned T = 0; T != N; ++T)
    for (unsigned K = 0; K <= T; ++K) {
      if (r(T, K) < 0)
        continue;
      std::string Tag = "_" + std::to_string(T) + "_";
      UCols[T].push_back(
          {K, addCol(0, UHi, 0, false, "U" + Tag + std::to_string(K))});
      auto AddF = [&](unsigned I) {
        FCols[T].push_back(
            {I, K,
             addCol(0, 1, 0, O.MinimizePeak,
                    "F" + Tag + std::to_string(I) + "_" + std::to_string(K))});
      };
      for (unsigned I : In[K])
        AddF(I);
      AddF(K);
    }
  if (O.MinimizePeak)
    PeakCol = addCol(0, 1e30, 1, false, "peak");
}

void MilpBuilder::addLogicRows() {
  for (unsigned T = 0; T != N; ++T)
    for (unsigned K = 0; K <= T; ++K) {
      if (r(T, K) >= 0) {
        // Operands resident: R[t][k] <= R[t][i] + S[t][i].
        for (unsigned I : G.Nodes[K].Inputs) {
          RowVec V;
          V.insert(r(T, K), 1);
          if (r(T, I) >= 0)
            V.insert(r(T, I), -1);
          if (s(T, I) >= 0)
            V.insert(s(T, I), -1);
          addRow(V, -1e30, 0);
        }
      }
      if (s(T, K) < 0)
        continue;
      // Retained only what was resident: S[t][i] <= R[t-1][i] + S[t-1][i].
      RowVec V;
      V.insert(s(T, K), 1);
      if (r(T - 1, K) >= 0)
        V.insert(r(T - 1, K), -1);
      if (s(T - 1, K) >= 0)
        V.insert(s(T - 1, K), -1);
      addRow(V, -1e30, 0);
      // Never recompute a resident tensor: R[t][i] + S[t][i] <= 1.
      if (r(T, K) >= 0) {
        RowVec W;
        W.insert(r(T, K), 1);
        W.insert(s(T, K), 1);
        addRow(W, -1e30, 1);
      }
    }
}

void MilpBuilder::addFreeRows(unsigned T) {
  // F may free i only when k runs, nothing later in the stage reads i, and
  // i is not kept for the next stage. One row per condition (F <= R[t][k],
  // F <= 1 - S[t+1][i], F <= 1 - R[t][j]) is Checkmate's AND, disaggregated:
  // its LP relaxation is tighter than the paper's single aggregated row.
  // F needs no lower bound: freeing less only counts more memory, so with
  // integral R and S some optimum has F at its bound, 0 or 1, and F can be
  // continuous. (The peak-minimising model keeps F binary: with continuous
  // F, CBC 2.10.8 crashed in ClpPresolve on the diamond of GraphMILPTest.)
  for (const FreeVar &F : FCols[T]) {
    auto AtMost = [&](int Col, double Sign, double Hi) {
      RowVec V;
      V.insert(F.Col, 1);
      V.insert(Col, Sign);
      addRow(V, -1e30, Hi);
    };
    AtMost(r(T, F.K), -1, 0);
    if (s(T + 1, F.I) >= 0)
      AtMost(s(T + 1, F.I), 1, 1);
    for (unsigned J : G.Users[F.I])
      if (J > F.K && J <= T && r(T, J) >= 0)
        AtMost(r(T, J), 1, 1);
  }
}

void MilpBuilder::addMemoryRows(unsigned T) {
  size_t FIdx = 0;
  for (size_t J = 0; J != UCols[T].size(); ++J) {
    auto [K, UCol] = UCols[T][J];
    RowVec V;
    V.insert(UCol, 1);
    V.insert(r(T, K), -mem(G.Nodes[K].Bytes));
    if (J == 0) {
      for (unsigned I = 0; I < T; ++I)
        if (s(T, I) >= 0)
          V.insert(s(T, I), -mem(G.Nodes[I].Bytes));
    } else {
      unsigned PrevK = UCols[T][J - 1].first;
      V.insert(UCols[T][J - 1].second, -1);
      for (; FIdx < FCols[T].size() && FCols[T][FIdx].K == PrevK; ++FIdx)
        V.insert(FCols[T][FIdx].Col, mem(G.Nodes[FCols[T][FIdx].I].Bytes));
    }
    addRow(V, 0, 0);
    // The compute's peak: U[t][k] + workspace(k) R[t][k] <= budget.
    RowVec P;
    P.insert(UCol, 1);
    if (G.Nodes[K].Workspace > 0)
      P.insert(r(T, K), mem(G.Nodes[K].Workspace));
    if (PeakCol >= 0) {
      P.insert(PeakCol, -1);
      addRow(P, -1e30, 0);
    } else {
      addRow(P, -1e30, mem(O.BudgetBytes));
    }
  }
}

void MilpBuilder::addCoverRows() {
  // The covering bound's program (planner/GraphMILPBound.h), tied to R:
  // y[c] <= recomputations of c's tensor in the stages of its segment, and
  // every first-compute moment drops enough live bytes. Valid for every
  // integral solution (its ops fit the budget at each moment); it lifts the
  // LP bound (layered-49 at 60%: 446 -> 458). Y stays continuous here:
  // binary Y lifted the root bound a little but slowed CBC's proofs
  // (transformer-21 at 60%: 5.6 -> 7.6 s); the proof by coverings
  // (GraphMILPCoverProof.cpp) fixes Y to 0/1 itself.
  GraphCover C = buildGraphCover(G, O.BudgetBytes);
  if (C.Infeasible)
    return;
  for (size_t Col = 0; Col != C.SegNode.size(); ++Col) {
    CoverVar Y{C.SegNode[Col], C.SegLo[Col], C.SegHi[Col], -1};
    Y.Col = addCol(0, 1, 0, false, "Y_" + std::to_string(Col));
    YCols.push_back(Y);
    RowVec V;
    V.insert(Y.Col, 1);
    for (unsigned T = Y.Lo + 1; T <= Y.Hi; ++T)
      if (r(T, Y.Node) >= 0)
        V.insert(r(T, Y.Node), -1);
    addRow(V, -1e30, 0);
  }
  for (size_t Row = 0; Row != C.Need.size(); ++Row) {
    RowVec V;
    for (unsigned Col : C.RowSegs[Row])
      V.insert(YCols[Col].Col, mem(G.Nodes[YCols[Col].Node].Bytes));
    addRow(V, C.Need[Row] / Scale, 1e30);
  }
}

void MilpBuilder::build() {
  addColumns();
  addLogicRows();
  for (unsigned T = 0; T != N; ++T) {
    addFreeRows(T);
    addMemoryRows(T);
  }
  if (!O.MinimizePeak && O.UseCoverBounds)
    addCoverRows();
}

std::vector<double> MilpBuilder::startVector(ArrayRef<GraphOp> Ops) const {
  StageSets Stages = opsToStages(G, Ops);
  const auto &R = Stages.R;
  const auto &S = Stages.S;
  std::vector<double> X(ColLo.size(), 0);
  double Peak = 0;
  for (unsigned T = 0; T != N; ++T) {
    BitVector InR(N), InS(N), Next(N);
    for (unsigned K : R[T])
      InR.set(K);
    for (unsigned I : S[T])
      InS.set(I);
    if (T + 1 < N)
      for (unsigned I : S[T + 1])
        Next.set(I);
    for (unsigned K : R[T])
      if (r(T, K) >= 0)
        X[r(T, K)] = 1;
    double U = 0;
    for (unsigned I : S[T])
      if (s(T, I) >= 0) {
        X[s(T, I)] = 1;
        U += mem(G.Nodes[I].Bytes);
      }
    size_t FIdx = 0;
    for (auto [K, UCol] : UCols[T]) {
      if (InR.test(K))
        U += mem(G.Nodes[K].Bytes);
      X[UCol] = U;
      if (InR.test(K))
        Peak = std::max(Peak, U + mem(G.Nodes[K].Workspace));
      for (; FIdx < FCols[T].size() && FCols[T][FIdx].K == K; ++FIdx) {
        const FreeVar &F = FCols[T][FIdx];
        bool Later = false;
        for (unsigned J : G.Users[F.I])
          Later |= J > K && InR.test(J);
        if (InR.test(K) && !Later && !Next.test(F.I)) {
          X[F.Col] = 1;
          U -= mem(G.Nodes[F.I].Bytes);
        }
      }
    }
  }
  if (PeakCol >= 0)
    X[PeakCol] = Peak;
  // Y is 1 where the plan recomputes the tensor within the segment: an
  // absent tensor is recomputed there, so the covering rows hold.
  for (const CoverVar &Y : YCols)
    for (unsigned T = Y.Lo + 1; T <= Y.Hi; ++T)
      if (r(T, Y.Node) >= 0 && X[r(T, Y.Node)] > 0.5)
        X[Y.Col] = 1;
  return X;
}

StageSets MilpBuilder::readSolution(const double *X) const {
  StageSets Out;
  auto &R = Out.R;
  auto &S = Out.S;
  R.assign(N, {});
  S.assign(N, {});
  for (unsigned T = 0; T != N; ++T)
    for (unsigned K = 0; K != N; ++K) {
      if (r(T, K) >= 0 && X[r(T, K)] > 0.5)
        R[T].push_back(K);
      if (s(T, K) >= 0 && X[s(T, K)] > 0.5)
        S[T].push_back(K);
    }
  return Out;
}

} // namespace milp

#endif // REMAT_HAVE_CBC

} // namespace remat

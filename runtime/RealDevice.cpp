//===- runtime/RealDevice.cpp - Host side of the device real mode ---------===//

#include "runtime/RealDevice.h"
#include "graph/Errors.h"

#include <climits>
#include <fmt/format.h>

using namespace llvm;

namespace remat::real {

SmallVector<size_t, 5> paramOffsets(LayerType T, const RealShape &S) {
  size_t H = S.Hidden, F = H * S.MlpRatio;
  switch (T) {
  case LayerType::Linear:
  case LayerType::LinearGelu:
    return {0, H * H, H * H + H};
  case LayerType::LayerNorm:
    return {0, H, 2 * H};
  case LayerType::Mlp:
    return {0, H * F, H * F + F, 2 * H * F + F, 2 * H * F + F + H};
  case LayerType::Attention:
    return {0, H * H, 2 * H * H, 3 * H * H, 4 * H * H};
  }
  return {0};
}

SmallVector<size_t, 6> interOffsets(LayerType T, const RealShape &S) {
  size_t N = S.ioFloats(), R = S.rows(), F = size_t(S.Hidden) * S.MlpRatio;
  size_t Probs = size_t(S.Batch) * S.Heads * S.Seq * S.Seq;
  switch (T) {
  case LayerType::Linear:
    return {0};
  case LayerType::LinearGelu:
    return {0, N};
  case LayerType::LayerNorm:
    return {0, 2 * R};
  case LayerType::Mlp:
    return {0, R * F, 2 * R * F};
  case LayerType::Attention:
    return {0, N, 2 * N, 3 * N, 4 * N, 4 * N + Probs};
  }
  return {0};
}

Error checkDeviceShape(const RealNet &Net) {
  const RealShape &S = Net.shape();
  size_t F = size_t(S.Hidden) * S.MlpRatio;
  double Largest = double(S.rows()) * double(F);
  if (Largest > double(INT_MAX))
    return badInput(
        "{}",
        fmt::format("--device cuda --mode real: rows x mlp width = {} x {} "
                    "exceeds cuBLAS's int sizes",
                    S.rows(), F));
  size_t N = S.ioFloats();
  SmallVector<size_t, 24> Offsets = {N};
  for (unsigned I = 0; I < Net.size(); ++I) {
    const RealLayer &L = Net.layer(I);
    for (size_t O : interOffsets(L.type(), S))
      Offsets.push_back(N + O); // sub-buffers of x̄, and the output after
    for (size_t O : paramOffsets(L.type(), S))
      Offsets.push_back(O);
  }
  for (size_t O : Offsets)
    if (O % 4)
      return badInput(
          "{}",
          fmt::format(
              "--device cuda --mode real: --batch {} --seq {} --hidden {} "
              "--heads {} puts a sub-buffer at float offset {}, not on a "
              "16-byte boundary (cuBLAS could then pick different kernels "
              "for a recomputed forward); use sizes whose products are "
              "multiples of 4 (e.g. an even batch x seq and hidden)",
              S.Batch, S.Seq, S.Hidden, S.Heads, O));
  return Error::success();
}

#if !defined(REMAT_HAVE_CUDA) || !defined(REMAT_HAVE_CUBLAS)
bool deviceRealBuilt() { return false; }

Expected<std::unique_ptr<RealDeviceOps>> createCudaRealOps(Backend &) {
#ifndef REMAT_HAVE_CUDA
  const char *Why = "this remat was built without the CUDA backend "
                    "(configure with -DREMAT_CUDA=ON where nvcc is installed)";
#else
  const char *Why = "this remat was built without cuBLAS (the CUDA toolkit "
                    "found at configure time has no CUDA::cublas)";
#endif
  return badInput("--device cuda --mode real: {}", Why);
}
#endif

Expected<std::unique_ptr<DeviceRealWorkload>>
createDeviceRealWorkload(RealNet &Net, Backend &Dev, bool RecordLoss) {
  auto Ops = createCudaRealOps(Dev);
  if (!Ops)
    return Ops.takeError();
  if (Error E = checkDeviceShape(Net))
    return E;
  return createOpsRealWorkload(Net, std::move(*Ops), RecordLoss);
}

} // namespace remat::real

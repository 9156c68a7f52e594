//===- runtime/Profile.cpp - Measuring real layers into a model file ------===//

#include "runtime/Profile.h"
#include "graph/Errors.h"

#include "runtime/RealDevice.h"
#include "runtime/RealMath.h"
#include "runtime/RealModel.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace llvm;

namespace remat {

/// Median of \p N timings of \p Fn on \p Dev, microseconds.
template <typename Fn>
static double medianMicros(Backend &Dev, unsigned N, Fn &&Body) {
  std::vector<double> T;
  for (unsigned I = 0; I < N; ++I) {
    Dev.startTimer();
    Body();
    T.push_back(Dev.stopTimer());
  }
  std::sort(T.begin(), T.end());
  return T[T.size() / 2];
}

/// Times stage \p I of \p Net on inputs \p X and gradients \p DY.
static StageProfile profileStage(real::RealNet &Net, unsigned I,
                                 const Chain &Sizes, Backend &Dev,
                                 unsigned Repeats, const std::vector<float> &X,
                                 const std::vector<float> &DY) {
  real::RealLayer &L = Net.layer(I);
  std::vector<float> Inter(L.interFloats()), Y(X.size()), DX(X.size()),
      Ws(L.bwdWsFloats());
  StageProfile P;
  P.S = Sizes.Stages[I];
  P.LayerType = real::layerTypeName(L.type());
  L.forward(X.data(), Inter.data(), Y.data()); // warm caches
  P.S.FwdTime =
      medianMicros(Dev, Repeats,
                   [&] { L.forward(X.data(), Inter.data(), Y.data()); }) /
      1e3;
  P.S.BwdTime = medianMicros(Dev, Repeats,
                             [&] {
                               L.backward(X.data(), Inter.data(), DY.data(),
                                          DX.data(), Ws.data());
                             }) /
                1e3;
  return P;
}

namespace {
/// Device buffers of one stage's profile, from the backend's pool.
struct DeviceBuffers {
  Backend &Dev;
  std::vector<std::pair<void *, uint64_t>> Held;
  ~DeviceBuffers() {
    Dev.synchronize();
    for (auto &[P, B] : Held)
      Dev.release(P, B);
    Dev.synchronize();
  }
  Expected<float *> get(size_t Floats) {
    uint64_t Bytes = std::max<uint64_t>(Floats * sizeof(float), 4);
    auto P = Dev.allocate(Bytes);
    if (!P)
      return P.takeError();
    Held.push_back({*P, Bytes});
    return static_cast<float *>(*P);
  }
};
} // namespace

/// Times stage \p I on the device: as profileStage, with the layer's
/// kernels on the backend's stream and its buffers from the pool.
static Expected<StageProfile>
profileDeviceStage(real::DeviceRealWorkload &W, real::RealNet &Net, unsigned I,
                   const Chain &Sizes, Backend &Dev, unsigned Repeats,
                   const std::vector<float> &HX,
                   const std::vector<float> &HDY) {
  real::RealLayer &L = Net.layer(I);
  DeviceBuffers B{Dev, {}};
  size_t N = HX.size();
  float *Bufs[6];
  size_t Sizes6[6] = {N, L.interFloats(), N, N, N, L.bwdWsFloats()};
  for (size_t K = 0; K < 6; ++K) {
    auto P = B.get(Sizes6[K]);
    if (!P)
      return P.takeError();
    Bufs[K] = *P;
  }
  float *X = Bufs[0], *Inter = Bufs[1], *Y = Bufs[2], *DY = Bufs[3],
        *DX = Bufs[4], *Ws = Bufs[5];
  if (Error E = W.upload(X, HX))
    return E;
  if (Error E = W.upload(DY, HDY))
    return E;
  StageProfile P;
  P.S = Sizes.Stages[I];
  P.LayerType = real::layerTypeName(L.type());
  W.forwardRaw(I, X, Inter, Y); // warm up: module load, cuBLAS heuristics
  W.backwardRaw(I, X, Inter, DY, DX, Ws);
  Dev.synchronize();
  P.S.FwdTime =
      medianMicros(Dev, Repeats, [&] { W.forwardRaw(I, X, Inter, Y); }) / 1e3;
  P.S.BwdTime = medianMicros(Dev, Repeats,
                             [&] { W.backwardRaw(I, X, Inter, DY, DX, Ws); }) /
                1e3;
  if (Error E = W.takeError())
    return E;
  return P;
}

/// Profiles every stage of \p Net on the CUDA backend, and the loss.
static Error profileOnDevice(ProfileResult &R, real::RealNet &Net,
                             const Chain &Sizes, Backend &Dev, unsigned Repeats,
                             const std::vector<float> &X,
                             const std::vector<float> &DY) {
  auto W = real::createDeviceRealWorkload(Net, Dev);
  if (!W)
    return W.takeError();
  for (unsigned I = 0; I < Net.size(); ++I) {
    auto P = profileDeviceStage(**W, Net, I, Sizes, Dev, Repeats, X, DY);
    if (!P)
      return P.takeError();
    R.Stages.push_back(std::move(*P));
  }
  DeviceBuffers B{Dev, {}};
  auto DX = B.get(X.size());
  if (!DX)
    return DX.takeError();
  auto DYL = B.get(X.size());
  if (!DYL)
    return DYL.takeError();
  if (Error E = (*W)->upload(*DX, X))
    return E;
  TensorRef In{Buffer{*DX, X.size() * 4}, false};
  Buffer Out{*DYL, X.size() * 4};
  (*W)->loss(In, Out, Buffer{});
  R.LossMs =
      medianMicros(Dev, Repeats, [&] { (*W)->loss(In, Out, Buffer{}); }) / 1e3;
  return (*W)->takeError();
}

/// Milliseconds rounded to whole nanoseconds, so files read cleanly.
static double roundMs(double Ms) { return std::round(Ms * 1e6) / 1e6; }

static std::string renderModel(const ProfileResult &R, const ProfileOptions &O,
                               const std::string &Description) {
  using J = nlohmann::ordered_json;
  J Layers = J::array();
  for (const StageProfile &P : R.Stages)
    Layers.push_back(J{{"name", P.S.Name},
                       {"kind", P.S.Kind},
                       {"fwd_time", roundMs(P.S.FwdTime)},
                       {"bwd_time", roundMs(P.S.BwdTime)},
                       {"output_bytes", P.S.OutputBytes},
                       {"saved_bytes", P.S.SavedBytes},
                       {"fwd_workspace", P.S.FwdWorkspace},
                       {"bwd_workspace", P.S.BwdWorkspace}});
  J Doc{{"format", "remat-model"},
        {"version", 1},
        {"name", R.Name},
        {"description", Description},
        {"time_unit", "ms"},
        {"static_bytes",
         {{"parameters", R.ParameterBytes},
          {"gradients", R.ParameterBytes},
          {"optimizer", 0}}},
        {"input_bytes", R.InputBytes},
        {"loss", {{"bwd_time", roundMs(R.LossMs)}, {"bwd_workspace", 0}}},
        {"layers", Layers}};
  return Doc.dump(2) + "\n";
}

/// The loss on the CPU: y = x - t, one pass over x_L; milliseconds.
static double cpuLossMs(Backend &Dev, unsigned Repeats,
                        const std::vector<float> &X,
                        const std::vector<float> &DY) {
  std::vector<float> Y(X.size());
  double Ms = medianMicros(Dev, Repeats,
                           [&] {
                             for (size_t I = 0; I < X.size(); ++I)
                               Y[I] = X[I] - DY[I];
                           }) /
              1e3;
  volatile float Sink = Y.back(); // keep the timed loop observable
  (void)Sink;
  return Ms;
}

Expected<ProfileResult> profileRealLayers(const ProfileOptions &O) {
  if (O.Device != "cpu" && O.Device != "cuda")
    return badInput("profile: --device {}: choose cpu or cuda", O.Device);
  if (O.Repeats == 0)
    return badInput("profile: --repeat must be at least 1");
  auto Net = O.Like ? real::RealNet::fromChain(*O.Like, O.Shape)
                    : real::RealNet::fromPreset(O.Preset, O.Blocks, O.Shape);
  if (!Net)
    return Net.takeError();
  CpuBackendOptions Cpu;
  Cpu.Clock = O.Clock;
  auto Dev = createBackend(O.Device, Cpu);
  if (!Dev)
    return Dev.takeError();
  Chain Sizes = Net->chain();
  const real::RealShape &S = O.Shape;
  std::vector<float> X(S.ioFloats()), DY(S.ioFloats());
  for (size_t I = 0; I < X.size(); ++I) {
    X[I] = 2 * real::uniform01(S.Seed, 101, I) - 1;
    DY[I] = 2 * real::uniform01(S.Seed, 102, I) - 1;
  }
  ProfileResult R;
  R.Name = !O.Name.empty() ? O.Name
           : O.Like        ? "profiled-real"
                           : O.Preset + "-profiled";
  if (O.Device == "cuda") {
    if (Error E = profileOnDevice(R, *Net, Sizes, **Dev, O.Repeats, X, DY))
      return E;
  } else {
    for (unsigned I = 0; I < Net->size(); ++I)
      R.Stages.push_back(profileStage(*Net, I, Sizes, **Dev, O.Repeats, X, DY));
    R.LossMs = cpuLossMs(**Dev, O.Repeats, X, DY);
  }
  R.InputBytes = Sizes.InputBytes;
  R.ParameterBytes = Net->parameterBytes();
  std::string Desc = fmt::format(
      "real float32 layers measured by 'remat profile' on {} ({}{}): {}, "
      "batch {}, seq {}, hidden {}, heads {}, mlp ratio {}, dropout {}, "
      "seed {}; times are medians of {} runs",
      O.Device, (*Dev)->description(),
      O.Device == "cuda" ? "; GEMMs by cuBLAS, FP32" : "",
      O.Like ? std::string("one layer per stage of a model")
             : fmt::format("preset {} with {} blocks", O.Preset, O.Blocks),
      S.Batch, S.Seq, S.Hidden, S.Heads, S.MlpRatio, S.Dropout, S.Seed,
      O.Repeats);
  R.Json = renderModel(R, O, Desc);
  return R;
}

} // namespace remat

//===- runtime/TrackingAllocator.cpp - Exact live and peak bytes ----------===//

#include "runtime/TrackingAllocator.h"

#include <algorithm>

namespace remat {

llvm::Expected<Buffer> TrackingAllocator::allocate(uint64_t Bytes) {
  if (Bytes == 0)
    return Buffer{};
  auto P = Dev.allocate(Bytes);
  if (!P)
    return P.takeError();
  Live += Bytes;
  Peak = std::max(Peak, Live);
  ++Count;
  return Buffer{*P, Bytes};
}

void TrackingAllocator::release(Buffer &B) {
  if (B.Bytes == 0)
    return;
  Dev.release(B.Data, B.Bytes);
  Live -= B.Bytes;
  B = Buffer{};
}

} // namespace remat

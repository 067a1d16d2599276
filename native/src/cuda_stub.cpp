// Built when CUDA is off or no toolkit was found: the CUDA entry points report why.
#include "arbiter/core.hpp"

namespace arbiter {
namespace {
[[noreturn]] void unavailable() {
  throw Error(arbiter::codes::CUDA_UNAVAILABLE, "this build has no CUDA kernels (built without a CUDA toolkit or with ARBITER_CUDA=off)");
}
}  // namespace
CudaInfo cuda_info() {
  CudaInfo i;
  i.reason = "built without CUDA";
  return i;
}
std::unique_ptr<Index> make_cuda_index(size_t, DType) { unavailable(); }
std::unique_ptr<Mlp> make_cuda_mlp(std::vector<LayerSpec>) { unavailable(); }
std::unique_ptr<CudaEmbedTable> make_cuda_embed_table(const EmbedTableView&) { unavailable(); }
}  // namespace arbiter

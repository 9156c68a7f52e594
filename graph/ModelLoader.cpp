// placeholder: implemented by the foundation issue
#include "graph/ModelLoader.h"
using namespace llvm;
namespace remat {
Expected<Model> loadModelFile(StringRef) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
Expected<Model> parseModelText(StringRef, StringRef) { return createStringError(inconvertibleErrorCode(), "not implemented yet"); }
}

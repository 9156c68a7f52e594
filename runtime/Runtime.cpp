// placeholder: the runtime issue adds the executor here
namespace remat {}

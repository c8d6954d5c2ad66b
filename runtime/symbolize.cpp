// SPDX-License-Identifier: Apache-2.0
#include "runtime/symbolize.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

struct FunctionSymbol {
  std::uintptr_t start = 0;  // link-time address
  std::uintptr_t size = 0;
  const char* name = nullptr;  // in the mapped file
};

// One object file's function symbols, sorted by address. The file stays mapped: the names
// point into it.
struct ObjectSymbols {
  std::vector<FunctionSymbol> functions;
};

// The object file's bytes, or nullptr; the mapping is kept for the life of the process.
const unsigned char* map_file(const char* path, std::size_t& size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* p = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    size = static_cast<std::size_t>(st.st_size);
    p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<const unsigned char*>(p);
}

// The symbol table (.symtab, else .dynsym) of a 64-bit ELF file; empty when it has none or is
// not one. Every offset is checked against the file's size before it is followed.
std::unique_ptr<ObjectSymbols> load_symbols(const char* path) {
  auto out = std::make_unique<ObjectSymbols>();
  std::size_t size = 0;
  const unsigned char* file = map_file(path, size);
  if (file == nullptr || size < sizeof(Elf64_Ehdr)) return out;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(file);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
      (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) {
    return out;
  }
  const auto* sections = reinterpret_cast<const Elf64_Shdr*>(file + eh->e_shoff);
  const auto inside = [&](const Elf64_Shdr& s) {
    return s.sh_offset <= size && s.sh_size <= size - s.sh_offset;
  };
  const Elf64_Shdr* table = nullptr;
  for (const std::uint32_t type : {SHT_SYMTAB, SHT_DYNSYM}) {
    for (std::size_t i = 0; i < eh->e_shnum && table == nullptr; ++i) {
      if (sections[i].sh_type == type && inside(sections[i]) && sections[i].sh_link < eh->e_shnum &&
          inside(sections[sections[i].sh_link])) {
        table = &sections[i];
      }
    }
  }
  if (table == nullptr) return out;
  const Elf64_Shdr& strings = sections[table->sh_link];
  const char* names = reinterpret_cast<const char*>(file + strings.sh_offset);
  // Every name read below ends at a NUL inside the table if the table itself ends with one.
  if (strings.sh_size == 0 || names[strings.sh_size - 1] != '\0') return out;
  const auto* syms = reinterpret_cast<const Elf64_Sym*>(file + table->sh_offset);
  const std::size_t count = table->sh_size / sizeof(Elf64_Sym);
  for (std::size_t i = 0; i < count; ++i) {
    const Elf64_Sym& s = syms[i];
    if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || s.st_value == 0 ||
        s.st_name >= strings.sh_size) {
      continue;
    }
    out->functions.push_back({s.st_value, s.st_size, names + s.st_name});
  }
  std::sort(out->functions.begin(), out->functions.end(),
            [](const FunctionSymbol& a, const FunctionSymbol& b) { return a.start < b.start; });
  return out;
}

struct LoadedObject {
  std::uintptr_t pc = 0;
  std::uintptr_t bias = 0;
  std::string path;
  bool found = false;
};

// The loaded object whose segments hold `pc` (dl_iterate_phdr); the executable's own path
// is /proc/self/exe.
LoadedObject object_at(std::uintptr_t pc) {
  LoadedObject where;
  where.pc = pc;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* arg) {
        auto& w = *static_cast<LoadedObject*>(arg);
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && w.pc >= lo && w.pc - lo < ph.p_memsz) {
            w.bias = info->dlpi_addr;
            w.path = info->dlpi_name != nullptr && info->dlpi_name[0] != '\0' ? info->dlpi_name
                                                                              : "/proc/self/exe";
            w.found = true;
            return 1;
          }
        }
        return 0;
      },
      &where);
  return where;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

std::mutex g_mu;
std::map<std::string, std::unique_ptr<ObjectSymbols>>& cache() {
  static auto* c = new std::map<std::string, std::unique_ptr<ObjectSymbols>>;  // never freed
  return *c;
}

}  // namespace

CodeSymbol symbolize(std::uintptr_t pc) {
  const LoadedObject obj = object_at(pc);
  if (obj.found) {
    std::lock_guard lock(g_mu);
    std::unique_ptr<ObjectSymbols>& syms = cache()[obj.path];
    if (!syms) syms = load_symbols(obj.path.c_str());
    const std::uintptr_t addr = pc - obj.bias;
    const auto& fns = syms->functions;
    auto it =
        std::upper_bound(fns.begin(), fns.end(), addr,
                         [](std::uintptr_t a, const FunctionSymbol& f) { return a < f.start; });
    if (it != fns.begin()) {
      --it;
      if (addr - it->start < std::max<std::uintptr_t>(it->size, 1)) {
        return CodeSymbol{demangle(it->name), addr - it->start};
      }
    }
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_sname != nullptr) {
    return CodeSymbol{demangle(info.dli_sname),
                      pc - reinterpret_cast<std::uintptr_t>(info.dli_saddr)};
  }
  return {};
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

// SPDX-License-Identifier: Apache-2.0
// The stack of a parked fiber is read like a seqlock's data: its run_state and park_seq
// (bumped by every park) are read before and after the copy, and a copy during which the
// fiber moved on is dropped. The unwind then runs on the copy, never on the live stack, so a
// fiber that resumes mid-report cannot feed the unwinder changing memory: every word of the
// copy that points into the fiber's stack is relocated into the copy, and one that points
// outside the copied window is sent into a zeroed tail past it, where the walk finds a null
// return address and ends.
#include "runtime/parked_frames.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "runtime/machine/suspended_unwind.hpp"
#include "runtime/symbolize.hpp"

namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail {
namespace {

constexpr std::size_t kWindowBytes = 64 * 1024;  // of the stack, from the suspended sp up
constexpr std::size_t kTailBytes = 4096;         // zeros past the copy
constexpr std::size_t kMaxFrames = 48;           // raw frames kept before trimming

// Reads memory another thread may be writing (the fiber, if it was resumed meanwhile): the
// caller validates the copy afterwards and drops it then. The sanitizers are told not to
// look, since the race is expected and handled; the volatile reads keep the compiler from
// turning the loop into a memcpy call, which they would intercept.
__attribute__((noinline, no_sanitize("address", "thread"))) void copy_words(
    std::uint64_t* to, const volatile std::uint64_t* from, std::size_t words) noexcept {
  for (std::size_t i = 0; i < words; ++i) to[i] = from[i];
}

// The qualified name of a demangled function, without the return type that a template's
// name starts with ("std::optional<int> spindle::detail::recv<int>(...)") or the parameters.
std::string_view qualified_name(std::string_view demangled) {
  int depth = 0;  // inside <>, () or {} (template arguments, lambdas' signatures)
  std::size_t start = 0;
  for (std::size_t i = 0; i < demangled.size(); ++i) {
    const char c = demangled[i];
    if (c == '<' || c == '{' || (c == '(' && depth > 0)) {
      ++depth;
    } else if ((c == '>' || c == '}' || c == ')') && depth > 0) {
      --depth;
    } else if (c == '(' && depth == 0) {
      if (demangled.substr(i).starts_with("(anonymous namespace)")) {
        i += std::string_view("(anonymous namespace)").size() - 1;
        continue;
      }
      return demangled.substr(start, i - start);
    } else if (c == ' ' && depth == 0) {
      start = i + 1;
    }
  }
  return demangled.substr(start);
}

// The runtime's own frames, which a report leaves out around the task's code. A task's
// TaskBody<...>::run() is the task's code: its function is usually inlined there, and the
// name carries the function's type.
bool is_runtime_frame(const CodeSymbol& s) {
  const std::string_view name = qualified_name(s.name);
  if (name.starts_with("spindle::") && name.find("::detail::TaskBody<") != std::string_view::npos) {
    return false;
  }
  return name.starts_with("spindle::") || name.starts_with("spindle_context_");
}

#define SPINDLE_FRAMES_STRINGIZE_(x) #x
#define SPINDLE_FRAMES_STRINGIZE(x) SPINDLE_FRAMES_STRINGIZE_(x)

// `name` without the inline ABI namespace, which only adds noise to every spindle type in a
// signature ("spindle::abi_v0_1::Chan<int>&" reads "spindle::Chan<int>&").
std::string without_abi_namespace(std::string name) {
  static constexpr std::string_view kInline = SPINDLE_FRAMES_STRINGIZE(SPINDLE_ABI_NAMESPACE) "::";
  for (std::size_t at = name.find(kInline); at != std::string::npos; at = name.find(kInline, at)) {
    name.erase(at, kInline.size());
  }
  return name;
}

}  // namespace

std::vector<void*> parked_frames(const Fiber& f) {
  // acquire: pairs with the worker's release store of kParked after the switch: the saved
  // registers and the stack they describe are complete.
  if (f.run_state.load(std::memory_order_acquire) != Fiber::kParked) return {};
  // relaxed: compared again after the copy, behind the fence below.
  const std::uint32_t seq = f.park_seq.load(std::memory_order_relaxed);

  static_assert(sizeof(MachineContext) % sizeof(std::uint64_t) == 0);
  std::uint64_t ctx_words[sizeof(MachineContext) / sizeof(std::uint64_t)];
  copy_words(ctx_words, reinterpret_cast<const volatile std::uint64_t*>(&f.ctx),
             std::size(ctx_words));
  MachineContext ctx;
  std::memcpy(static_cast<void*>(&ctx), ctx_words, sizeof ctx);

  const std::uintptr_t low = reinterpret_cast<std::uintptr_t>(f.stack.low);
  const std::uintptr_t high = reinterpret_cast<std::uintptr_t>(f.stack.high);
  const std::uintptr_t sp = suspended_stack_pointer(ctx);
  if (sp < low || sp >= high || sp % sizeof(std::uint64_t) != 0) return {};
  const std::size_t words = std::min(high - sp, kWindowBytes) / sizeof(std::uint64_t);
  std::vector<std::uint64_t> copy(words + kTailBytes / sizeof(std::uint64_t), 0);
  copy_words(copy.data(), reinterpret_cast<const volatile std::uint64_t*>(sp), words);

  // acquire: keeps the copy's reads before the two reads below (a seqlock reader's fence); a
  // fiber that ran during the copy has left kParked, or parked again with a new park_seq.
  std::atomic_thread_fence(std::memory_order_acquire);
  // relaxed: ordered by the fence above.
  if (f.run_state.load(std::memory_order_relaxed) != Fiber::kParked ||
      f.park_seq.load(std::memory_order_relaxed) != seq) {  // relaxed: as above
    return {};
  }

  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(copy.data());
  const std::uintptr_t copied_end = sp + words * sizeof(std::uint64_t);
  const std::uintptr_t zeros = base + words * sizeof(std::uint64_t) + kTailBytes / 2;
  const auto relocate = [&](std::uint64_t v) -> std::uint64_t {
    if (v >= sp && v < copied_end) return v - sp + base;
    if (v >= low && v < high) return zeros;
    return v;
  };
  for (std::size_t i = 0; i < words; ++i) copy[i] = relocate(copy[i]);

  SuspendedRegisters regs;
  if (!suspended_registers(ctx, copy.data(), words, regs)) return {};
  for (std::uint64_t* r :
       {&regs.rsp, &regs.rbp, &regs.rbx, &regs.r12, &regs.r13, &regs.r14, &regs.r15}) {
    *r = relocate(*r);
  }
  void* pcs[kMaxFrames];
  const std::size_t n = unwind_suspended(regs, pcs, kMaxFrames);
  return std::vector<void*>(pcs, pcs + n);
}

std::vector<std::string> describe_frames(const std::vector<void*>& pcs, std::size_t max) {
  std::vector<CodeSymbol> symbols;
  symbols.reserve(pcs.size());
  // Return addresses point past their call: look up the call itself.
  for (void* pc : pcs) symbols.push_back(symbolize(reinterpret_cast<std::uintptr_t>(pc) - 1));
  std::size_t first = 0;
  std::size_t last = symbols.size();
  const auto user = [&](const CodeSymbol& s) { return !is_runtime_frame(s); };
  if (auto it = std::find_if(symbols.begin(), symbols.end(), user); it != symbols.end()) {
    first = static_cast<std::size_t>(it - symbols.begin());
    last = static_cast<std::size_t>(std::find_if(symbols.rbegin(), symbols.rend(), user).base() -
                                    symbols.begin());
  }
  std::vector<std::string> out;
  for (std::size_t i = first; i < last && out.size() < max; ++i) {
    char offset[32];
    if (symbols[i].name.empty()) {
      std::snprintf(offset, sizeof offset, "%p", pcs[i]);
      out.emplace_back(offset);
    } else {
      std::snprintf(offset, sizeof offset, "+%#llx",
                    static_cast<unsigned long long>(symbols[i].offset + 1));
      out.push_back(without_abi_namespace(symbols[i].name) + offset);
    }
  }
  return out;
}

}  // namespace spindle::inline SPINDLE_ABI_NAMESPACE::detail

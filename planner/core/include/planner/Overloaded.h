//===- planner/Overloaded.h - An overload set for std::visit ----*- C++ -*-===//
//
// Overloaded{[](const A &) {...}, [](const B &) {...}} is one callable with
// an operator() per lambda, for std::visit over a variant such as
// Schedule::Ops: a visit that leaves out an alternative fails to compile.
//
//===----------------------------------------------------------------------===//
#ifndef REMAT_PLANNER_OVERLOADED_H
#define REMAT_PLANNER_OVERLOADED_H

namespace remat {

/// The call operators of every lambda in Fs, as one object.
template <class... Fs> struct Overloaded : Fs... { using Fs::operator()...; };
template <class... Fs> Overloaded(Fs...) -> Overloaded<Fs...>;

} // namespace remat

#endif // REMAT_PLANNER_OVERLOADED_H

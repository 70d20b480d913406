// Boost.Fusion adaptation of the syntax tree so X3 can fill the structs from sequences.
#pragma once
#include <boost/fusion/include/adapt_struct.hpp>

#include "cfg/ast.h"

BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::StringLit, value)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::IntLit, value)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::AddrLit, text)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Ident, name)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::SelectPart, name, index)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Select, parts)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::PVar, name, arg)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::AssignTerm, op, operand)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::PvAssign, lhs, first, rest)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::FuncCall, name, args)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::CmpTail, op, rhs)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Comparison, lhs, tail)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Unary, bangs, cmp)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::AndExpr, first, rest)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::OrExpr, first, rest)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::ControlStmt, kind)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::ElseIf, cond, then)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::IfStmt, cond, then, elseIfs, otherwise)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::BareWord, text)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Assign, name, value)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::LoadModule, path)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::ModParam, module, param, value)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::CfgBlockAst, kind, selector, items)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::RouteDef, type, name, body)
BOOST_FUSION_ADAPT_STRUCT(sipsd::cfg::ast::Config, items)

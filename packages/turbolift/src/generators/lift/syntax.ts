/** Type guards over TypeScript's syntax tree that more than one of the lift's analyses asks. */
import * as ts from 'typescript';

/** A declaration that names a function, class, type or namespace of its own (a module-level one when its parent is the file). */
export type NamedDeclaration =
  ts.FunctionDeclaration | ts.ClassDeclaration | ts.InterfaceDeclaration | ts.TypeAliasDeclaration | ts.EnumDeclaration | ts.ModuleDeclaration;

export function isNamedDeclaration(node: ts.Node): node is NamedDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isClassDeclaration(node) ||
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isEnumDeclaration(node) ||
    ts.isModuleDeclaration(node)
  );
}

/** A function held by a class or an object literal: it may carry the marker, but it is never lifted by itself. */
export type MemberDeclaration = ts.MethodDeclaration | ts.PropertyDeclaration | ts.PropertyAssignment | ts.GetAccessorDeclaration | ts.SetAccessorDeclaration;

export function isMemberDeclaration(node: ts.Node): node is MemberDeclaration {
  return (
    ts.isMethodDeclaration(node) ||
    ts.isPropertyDeclaration(node) ||
    ts.isPropertyAssignment(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

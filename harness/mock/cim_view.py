"""The CIM side of one simulated HP 3PAR array: WBEMConnection-style operations over the world.

`ArrayCIMBackend` answers the intrinsic operations a CIM-XML server forwards (same names,
keyword arguments and return types as pywbem's WBEMConnection) and raises pywbem.CIMError
as a CIMOM would. Classes come from the compiled MOF (cim_repo); vendor-namespace
instances are computed from the world on each call (cim_vendor); the system, service and
interop objects are built once (cim_static, cim_interop). Callers hold the world lock.

Every answer is made of fresh objects: fixed objects are copied before they leave (`_fresh`), so
what one caller asks for (IncludeClassOrigin, PropertyList) or does with an answer (complete a
path's host) never shows in another caller's answer.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMParameter,
    CIMQualifierDeclaration,
    NocaseDict,
)

from harness.mock import cim_paths as P
from harness.mock.cim_deviate import CimDeviations, instance_deviations
from harness.mock.cim_interop import interop_instances
from harness.mock.cim_methods import METHODS, capabilities_method
from harness.mock.cim_repo import ClassRepository, class_repository
from harness.mock.cim_static import vendor_instances
from harness.mock.cim_vendor import AssociationEnd, Found, VendorView, Want
from harness.mock.deviations import Deviations
from harness.mock.world import World


def _want(property_list: Iterable[str] | None) -> Want:
    return None if property_list is None else {p.lower() for p in property_list}


def _fresh(inst: CIMInstance, want: Want) -> CIMInstance:
    """A copy of a fixed instance that shares nothing with it (properties, values, path), limited to `want`."""
    props = [p for p in inst.properties.values() if want is None or p.name.lower() in want]
    return CIMInstance(inst.classname, properties=copy.deepcopy(props), path=copy.deepcopy(inst.path))


class ArrayCIMBackend:
    """One array's provider: the vendor namespace and the interop namespace."""

    def __init__(
        self,
        world: World,
        array: str,
        deviations: Deviations | None = None,
        namespace: str = "root/tpd",
        interop_namespace: str = "interop",
    ) -> None:
        self.world = world
        self.array = array
        self.namespace = namespace
        self.interop_namespace = interop_namespace
        self.namespaces: list[str] = [namespace, interop_namespace]
        self.repo: ClassRepository = class_repository((namespace, interop_namespace))
        arr = world.arrays[array]
        self._static: list[CIMInstance] = [
            *vendor_instances(self.repo, arr, namespace),
            *interop_instances(self.repo, arr, interop_namespace, namespace),
        ]
        self._static_index = {(i.path.namespace.lower(), P.object_key(i.path)): i for i in self._static}
        self._static_links = self._index_static_links()
        system = self._static_index[(namespace.lower(), P.object_key(P.system_path(arr, namespace)))]
        changes = CimDeviations(deviations or Deviations(), self.repo.info(P.PAIR_SYNC), world, array)
        vendor = VendorView(
            world,
            array,
            namespace,
            self.repo,
            system=lambda: Found(P.SYSTEM, P.system_path(arr, namespace), lambda want: _fresh(system, want)),
            changes=changes if changes.active else None,
        )
        self.vendor = instance_deviations(vendor, deviations, world, array)

    # ================================================================ classes
    def GetClass(
        self,
        ClassName: str,
        namespace: str | None = None,
        LocalOnly: bool | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
        PropertyList: Iterable[str] | None = None,
    ) -> CIMClass:
        return self.repo.call(
            "GetClass",
            ClassName,
            namespace=self.repo.namespace(namespace),
            LocalOnly=LocalOnly,
            IncludeQualifiers=IncludeQualifiers,
            IncludeClassOrigin=IncludeClassOrigin,
            PropertyList=PropertyList,
        )

    def EnumerateClasses(
        self,
        namespace: str | None = None,
        ClassName: str | None = None,
        DeepInheritance: bool | None = None,
        LocalOnly: bool | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
    ) -> list[CIMClass]:
        return self.repo.call(
            "EnumerateClasses",
            namespace=self.repo.namespace(namespace),
            ClassName=ClassName,
            DeepInheritance=DeepInheritance,
            LocalOnly=LocalOnly,
            IncludeQualifiers=IncludeQualifiers,
            IncludeClassOrigin=IncludeClassOrigin,
        )

    def EnumerateClassNames(
        self,
        namespace: str | None = None,
        ClassName: str | None = None,
        DeepInheritance: bool | None = None,
    ) -> list[str]:
        return self.repo.call(
            "EnumerateClassNames",
            namespace=self.repo.namespace(namespace),
            ClassName=ClassName,
            DeepInheritance=DeepInheritance,
        )

    def EnumerateQualifiers(self, namespace: str | None = None) -> list[CIMQualifierDeclaration]:
        return self.repo.call("EnumerateQualifiers", namespace=self.repo.namespace(namespace))

    def GetQualifier(
        self,
        QualifierName: str,
        namespace: str | None = None,
    ) -> CIMQualifierDeclaration:
        return self.repo.call("GetQualifier", QualifierName, namespace=self.repo.namespace(namespace))

    # ================================================================ instances
    def GetInstance(
        self,
        InstanceName: CIMInstanceName,
        LocalOnly: bool | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
        PropertyList: Iterable[str] | None = None,
    ) -> CIMInstance:
        ns = self.repo.namespace(InstanceName.namespace)
        self.repo.info(InstanceName.classname)
        found = self._find(ns, InstanceName)
        return self._finish(found.build(_want(PropertyList)), IncludeClassOrigin)

    def EnumerateInstances(
        self,
        ClassName: str,
        namespace: str | None = None,
        LocalOnly: bool | None = None,
        DeepInheritance: bool | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
        PropertyList: Iterable[str] | None = None,
    ) -> list[CIMInstance]:
        ns = self.repo.namespace(namespace)
        info = self.repo.info(ClassName)
        want = _want(PropertyList)
        if DeepInheritance is False:  # only the properties the requested class defines
            want = set(info.properties) if want is None else want & set(info.properties)
        return [self._finish(f.build(want), IncludeClassOrigin) for f in self._enumerate(ns, info.name)]

    def EnumerateInstanceNames(
        self,
        ClassName: str,
        namespace: str | None = None,
    ) -> list[CIMInstanceName]:
        ns = self.repo.namespace(namespace)
        info = self.repo.info(ClassName)
        return [f.path for f in self._enumerate(ns, info.name)]

    # ================================================================ associations
    def References(
        self,
        ObjectName: CIMInstanceName | CIMClassName | str,
        ResultClass: str | None = None,
        Role: str | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
        PropertyList: Iterable[str] | None = None,
    ) -> list:
        if not isinstance(ObjectName, CIMInstanceName):
            return self._class_level(
                "References", ObjectName, ResultClass=ResultClass, Role=Role,
                IncludeQualifiers=IncludeQualifiers, IncludeClassOrigin=IncludeClassOrigin,
                PropertyList=PropertyList,
            )  # fmt: skip
        links = self._references(ObjectName, ResultClass, Role)
        want = _want(PropertyList)
        return [self._finish(link.assoc.build(want), IncludeClassOrigin) for link in links]

    def ReferenceNames(
        self,
        ObjectName: CIMInstanceName | CIMClassName | str,
        ResultClass: str | None = None,
        Role: str | None = None,
    ) -> list:
        if not isinstance(ObjectName, CIMInstanceName):
            return self._class_level("ReferenceNames", ObjectName, ResultClass=ResultClass, Role=Role)
        return [link.assoc.path for link in self._references(ObjectName, ResultClass, Role)]

    def Associators(
        self,
        ObjectName: CIMInstanceName | CIMClassName | str,
        AssocClass: str | None = None,
        ResultClass: str | None = None,
        Role: str | None = None,
        ResultRole: str | None = None,
        IncludeQualifiers: bool | None = None,
        IncludeClassOrigin: bool | None = None,
        PropertyList: Iterable[str] | None = None,
    ) -> list:
        if not isinstance(ObjectName, CIMInstanceName):
            return self._class_level(
                "Associators", ObjectName, AssocClass=AssocClass, ResultClass=ResultClass, Role=Role,
                ResultRole=ResultRole, IncludeQualifiers=IncludeQualifiers,
                IncludeClassOrigin=IncludeClassOrigin, PropertyList=PropertyList,
            )  # fmt: skip
        want = _want(PropertyList)
        others = self._associated(ObjectName, AssocClass, ResultClass, Role, ResultRole)
        return [self._finish(other.build(want), IncludeClassOrigin) for other in others]

    def AssociatorNames(
        self,
        ObjectName: CIMInstanceName | CIMClassName | str,
        AssocClass: str | None = None,
        ResultClass: str | None = None,
        Role: str | None = None,
        ResultRole: str | None = None,
    ) -> list:
        if not isinstance(ObjectName, CIMInstanceName):
            return self._class_level(
                "AssociatorNames", ObjectName, AssocClass=AssocClass, ResultClass=ResultClass,
                Role=Role, ResultRole=ResultRole,
            )  # fmt: skip
        return [o.path for o in self._associated(ObjectName, AssocClass, ResultClass, Role, ResultRole)]

    # ================================================================ methods
    def InvokeMethod(
        self,
        MethodName: str,
        ObjectName: CIMInstanceName | CIMClassName | str,
        Params: Iterable[CIMParameter | tuple[str, object]] | None = None,
        **params: object,
    ) -> tuple[object, NocaseDict]:
        """Extrinsic methods: GetSupportedOperations / GetSupportedCopyStates on the capabilities (cim_methods)."""
        if isinstance(ObjectName, CIMInstanceName):
            ns = self.repo.namespace(ObjectName.namespace)
            info = self.repo.info(ObjectName.classname)
            self._find(ns, ObjectName)
        else:
            classname = ObjectName if isinstance(ObjectName, str) else ObjectName.classname
            if isinstance(ObjectName, CIMClassName):
                self.repo.namespace(ObjectName.namespace)
            if not self.repo.has(classname):
                raise CIMError(CIM_ERR_NOT_FOUND, f"class {classname!r} does not exist")
            info = self.repo.info(classname)
        method = info.methods.get(MethodName.lower())
        if method is None:
            raise CIMError(CIM_ERR_METHOD_NOT_FOUND, f"class {info.name} has no method {MethodName!r}")
        args = self._method_args(info.method_params[method.lower()], method, Params, params)
        supported = isinstance(ObjectName, CIMInstanceName) and method in METHODS
        if not supported or not self.repo.is_a(info.name, "CIM_ReplicationServiceCapabilities"):
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{info.name}.{method} is not supported by this provider")
        return capabilities_method(method, args)

    @staticmethod
    def _method_args(
        declared: Mapping[str, tuple[str, bool]],
        method: str,
        positional: Iterable[CIMParameter | tuple[str, object]] | None,
        keyword: dict[str, object],
    ) -> NocaseDict:
        args = NocaseDict()
        items = [(p.name, p.value) if isinstance(p, CIMParameter) else (p[0], p[1]) for p in positional or []]
        for name, value in [*items, *keyword.items()]:
            if name.lower() not in declared:
                raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method} has no parameter {name!r}")
            args[name] = value
        return args

    # ================================================================ internals
    def _finish(self, inst: CIMInstance, class_origin: bool | None) -> CIMInstance:
        """CLASSORIGIN/PROPAGATED on a freshly built instance, if asked for."""
        if class_origin:
            info = self.repo.info(inst.classname)
            for prop in inst.properties.values():
                origin = info.prop(prop.name).class_origin
                prop.class_origin = origin
                prop.propagated = bool(origin and origin.lower() != info.name.lower())
        return inst

    def _class_level(self, operation: str, objectname: CIMClassName | str, **kwargs: object) -> list:
        if isinstance(objectname, str):
            objectname = CIMClassName(objectname, namespace=self.namespace)
        else:
            objectname = CIMClassName(objectname.classname, namespace=self.repo.namespace(objectname.namespace))
        return self.repo.call(operation, objectname, **kwargs)

    @staticmethod
    def _static_found(inst: CIMInstance) -> Found:
        return Found(inst.classname, copy.deepcopy(inst.path), lambda want: _fresh(inst, want))

    def _find(self, ns: str, path: CIMInstanceName) -> Found:
        """The object `path` names in namespace `ns`; CIM_ERR_NOT_FOUND if there is none."""
        found = self.vendor.resolve(path) if ns == self.namespace else None
        if found is None:
            inst = self._static_index.get((ns.lower(), P.object_key(path)))
            found = self._static_found(inst) if inst is not None else None
        if found is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path.to_wbem_uri()}")
        return found

    def _enumerate(self, ns: str, classname: str) -> Iterator[Found]:
        for inst in self._static:
            if inst.path.namespace == ns and self.repo.is_a(inst.classname, classname):
                yield self._static_found(inst)
        if ns == self.namespace:
            for dynamic in self.vendor.CLASSES:
                if self.repo.is_a(dynamic, classname):
                    yield from self.vendor.enumerate(dynamic)

    def _index_static_links(self) -> dict[tuple[str, tuple], list[tuple[CIMInstance, str, str, CIMInstanceName]]]:
        """Fixed associations by the (namespace, object) each of their references names: (assoc, role,
        other role, other end)."""
        index: dict[tuple[str, tuple], list[tuple[CIMInstance, str, str, CIMInstanceName]]] = {}
        for assoc in self._static:
            if not self.repo.info(assoc.classname).association:
                continue
            refs = {n: v for n, v in assoc.path.keybindings.items() if isinstance(v, CIMInstanceName)}
            for role, ref in refs.items():
                key = ((ref.namespace or self.namespace).lower(), P.object_key(ref))
                for other_role, other in refs.items():
                    if other_role != role:
                        index.setdefault(key, []).append((assoc, role, other_role, other))
        return index

    def _check_class(self, classname: str | None, what: str) -> None:
        if classname is not None and not self.repo.has(classname):
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{what} {classname!r} does not exist")

    def _links(self, path: CIMInstanceName, assoc_class: str | None = None) -> list[AssociationEnd]:
        """Associations referencing the object `path` names (limited to `assoc_class` and its subclasses)."""
        ns = self.repo.namespace(path.namespace)
        self.repo.info(path.classname)
        self._find(ns, path)

        def wanted(classname: str) -> bool:
            return assoc_class is None or self.repo.is_a(classname, assoc_class)

        links = self.vendor.links(path, wanted) if ns == self.namespace else []
        for assoc, role, other_role, other in self._static_links.get((ns.lower(), P.object_key(path)), []):
            if wanted(assoc.classname):
                links.append(AssociationEnd(self._static_found(assoc), role, other_role, self._lazy(other)))
        return links

    def _lazy(self, path: CIMInstanceName) -> Found:
        """The object a fixed association's reference names, built only if asked for."""
        path = copy.deepcopy(path)

        def build(want: Want) -> CIMInstance:
            return self._find(self.repo.namespace(path.namespace), path).build(want)

        return Found(path.classname, path, build)

    def _references(self, path: CIMInstanceName, result_class: str | None, role: str | None) -> list[AssociationEnd]:
        self._check_class(result_class, "ResultClass")
        return [
            link
            for link in self._links(path, result_class)
            if (result_class is None or self.repo.is_a(link.assoc.classname, result_class))
            and (role is None or role.lower() == link.role.lower())
        ]

    def _associated(
        self,
        path: CIMInstanceName,
        assoc_class: str | None,
        result_class: str | None,
        role: str | None,
        result_role: str | None,
    ) -> list[Found]:
        self._check_class(assoc_class, "AssocClass")
        self._check_class(result_class, "ResultClass")
        seen: set[tuple] = set()
        out: list[Found] = []
        for link in self._links(path, assoc_class):
            if assoc_class is not None and not self.repo.is_a(link.assoc.classname, assoc_class):
                continue
            if result_class is not None and not self.repo.is_a(link.other.classname, result_class):
                continue
            if role is not None and role.lower() != link.role.lower():
                continue
            if result_role is not None and result_role.lower() != link.other_role.lower():
                continue
            key = ((link.other.path.host or "").lower(), P.object_key(link.other.path))
            if key not in seen:
                seen.add(key)
                out.append(link.other)
        return out

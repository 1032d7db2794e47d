import RedisClient

/// `PATCH /v1/classes/{id}`: the settings a teacher may change while the class runs. Nil: unchanged.
public struct ClassSettingsChange: Sendable, Equatable {
    public var devicePolicy: DevicePolicy?
    public var joinRequires: JoinRequirement?
    public var enrolUnknown: EnrolUnknown?
    /// An empty list returns the class to the site's networks.
    public var allowedNetworks: [CIDR]?

    public init() {}

    public var isEmpty: Bool { devicePolicy == nil && joinRequires == nil && enrolUnknown == nil && allowedNetworks == nil }
}

extension ClassStore {
    /// Changes an open class's settings (its teacher or an admin), audited, and answers the class as
    /// `classInfo` does. Takes effect at once in this process and within `paramsCacheTTLMs` in
    /// every other one (device policy and enrolment at once everywhere: the scripts read them).
    public func updateClass(classId: String, change: ClassSettingsChange, actor: Actor, address: String,
                            completion: @escaping (Result<ClassInfo, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        guard !change.isEmpty else {
            return completion(.failure(.badRequest("Give at least one of device_policy, join_requires, enrol_unknown, allowed_networks")))
        }
        if let networks = change.allowedNetworks, networks.count > CreateClassRequest.maxAllowedNetworks {
            return completion(.failure(.badRequest("allowed_networks may list at most \(CreateClassRequest.maxAllowedNetworks) networks")))
        }
        var args = [classId, String(clock()), actor.id, owner, Self.auditAddress(address)]
        if let value = change.devicePolicy { args += ["device_policy", value.rawValue] }
        if let value = change.joinRequires { args += ["join_requires", value.rawValue] }
        if let value = change.enrolUnknown { args += ["enrol_unknown", value.rawValue] }
        if let value = change.allowedNetworks { args += ["allowed_networks", value.map(\.description).joined(separator: ",")] }
        runClassScript(Self.updateScript, classId: classId, args: args, decode: { $0.int }) { result in
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success:
                self.paramsCache[classId] = nil
                self.classInfo(classId: classId, actor: actor, completion: completion)
            }
        }
    }

    static let updateScript = RedisScript(UpdateClassScript.source, writes: true)
}

import Foundation
import NIOCore

/// One client connection: reads its query buffer, runs each complete command, writes the replies in
/// order. A protocol error is answered with Redis's error and the connection closed; a command left
/// incomplete for `incompleteCommandTimeout` closes it too. After PSYNC/SYNC the connection belongs to a
/// `DownstreamReplica` and inbound bytes are only scanned for `REPLCONF ACK`.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The server outlives its connections (it closes them and shuts their loop down before it goes).
    unowned(unsafe) let server: ReplicaServer
    private(set) var session: ClientSession!
    private(set) var channel: Channel?
    var replica: DownstreamReplica?
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var closing = false
    private var registered = false
    private var incompleteTimer: Scheduled<Void>?
    /// A client that does not read its replies stops being read (its replies wait in at most the
    /// channel's high-water mark), so it cannot grow our memory by pipelining without reading.
    private var pausedForOutput = false
    private let parser: QueryParser
    private let commands: Commands
    /// The current command's arguments (the array is reused from command to command), and the argument
    /// arrays kept for the next commands.
    private var args: [[UInt8]] = []
    private var argumentPool = QueryParser.ArgumentPool()

    init(server: ReplicaServer) {
        self.server = server
        parser = QueryParser(maxBulkLength: server.configuration.maxBulkLength,
                             queryBufferLimit: server.configuration.queryBufferLimit)
        commands = Commands(server: server)
    }

    deinit { pending.deallocate() }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        let remote = context.channel.remoteAddress
        let isLoopback = ClientHandler.isLoopback(remote)
        session = ClientSession(id: server.newClientID(), address: ClientHandler.describe(remote),
                                localAddress: ClientHandler.describe(context.channel.localAddress),
                                isLoopback: isLoopback, passwordRequired: server.configuration.password != nil)
        if let refusal = server.admit(self, isLoopback: isLoopback) {
            server.logger.info("Refusing client \(session.address): \(refusal.encoded(protocolVersion: 2).prefix(40))")
            write(refusal)
            closeAfterFlush(context)
            return
        }
        registered = true
        server.register(self)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) { handlerContext = context }

    func handlerRemoved(context: ChannelHandlerContext) { handlerContext = nil }

    func channelInactive(context: ChannelHandlerContext) {
        incompleteTimer?.cancel()
        if registered { server.unregister(self) }
        registered = false
        replica?.stop()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        guard context.channel.isWritable else { return }
        if let replica {
            replica.pump()
        } else if pausedForOutput {
            // The client read its replies: take its next commands again.
            pausedForOutput = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            process(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let bytes = unwrapInboundIn(data)
        server.netInputBytes += Int64(bytes.readableBytes)
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        bytes.withUnsafeReadableBytes { buffer.append(contentsOf: $0) }
        session.lastInteraction = Date()
        process(context)
    }

    /// The dataset copy the current batch of commands reads (taken at the batch's first read, dropped
    /// when the batch ends so the copy never pins old versions of the dataset for long).
    private var batchView: DatasetView?

    // MARK: XREAD BLOCK

    /// The XREAD this client is blocked in, if any (its later commands wait in the query buffer).
    private var blocked: XReadWait?
    private var handlerContext: ChannelHandlerContext?

    var blockHasTimeout: Bool { blocked?.deadlineMs != nil }

    /// Runs an XREAD that may block: a wait registers the client with the server instead of replying.
    private func runBlockable(_ name: String, _ args: [[UInt8]], family: ReadCommands.Family, context ctx: ReadContext) -> Reply? {
        do {
            return try ReadCommands.runOrWait(name, args, family: family, context: ctx)
        } catch let wait as XReadWait {
            blocked = wait
            server.blockedClients[session.id] = self
            return nil
        } catch let e as ReadError {
            return e.reply
        } catch {
            return .err("\(error)")
        }
    }

    /// Called by the server's poll while the client is blocked: answers the XREAD once one of its streams has
    /// entries past its ID (in the dataset as last applied), or with a null array once the timeout has passed
    /// (blocked.c `replyToBlockedClientTimedOut`), then runs the commands that waited behind it.
    func retryBlocked(view: DatasetView, nowMs: Int64) {
        guard let wait = blocked, let context = handlerContext else { return }
        var reply: Reply?
        if case .context(let ctx) = ReadCommands.target(view, session: session, nowMs: nowMs) { reply = ctx.serve(wait) }
        if reply == nil, let deadline = wait.deadlineMs, nowMs > deadline { reply = .nullArray }
        guard let reply else { return }
        blocked = nil
        server.blockedClients.removeValue(forKey: session.id)
        write(reply)
        process(context)
        flush(context)
    }

    /// Commands run and error replies sent since the server's counters were last updated.
    private var batchCommands: Int64 = 0
    private var batchErrors: Int64 = 0

    private func flushCounters() {
        guard batchCommands != 0 || batchErrors != 0 else { return }
        server.totalCommands += batchCommands
        server.errorReplies += batchErrors
        batchCommands = 0
        batchErrors = 0
    }

    /// Set when replies were handed to the channel: only then can it have stopped being writable.
    private var checkWritable = true

    private func process(_ context: ChannelHandlerContext) {
        var wrote = false
        // The batch's arguments array, moved out of the handler so it stays uniquely referenced (reused).
        var args: [[UInt8]] = []
        var pool = QueryParser.ArgumentPool()
        swap(&args, &self.args)
        swap(&pool, &argumentPool)
        defer {
            flushCounters()
            batchView = nil
            pool.recycle(&args)
            swap(&args, &self.args)
            swap(&pool, &argumentPool)
        }
        let view = { [unowned(unsafe) self] () -> DatasetView in
            if let v = self.batchView { return v }
            let v = self.server.datasetView()
            self.batchView = v
            return v
        }
        // One clock read per batch: the batch's commands judge expiries by the same time.
        let nowMs = ReadCommands.nowMs()
        let session: ClientSession = self.session
        let failoverGuardOnly = server.configuration.failoverGuardOnly
        var readTarget: ReadCommands.Target?
        checkWritable = true
        while !closing && blocked == nil && readIndex < buffer.count {
            if checkWritable {
                checkWritable = false
                if replica == nil && !context.channel.isWritable {
                    pausedForOutput = true
                    context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                    flush(context)
                    return
                }
            }
            var entry: CommandEntry?
            let step = buffer.withUnsafeBytes { raw -> QueryParser.Step in
                let rest = UnsafeRawBufferPointer(rebasing: raw[readIndex...])
                let step = parser.parse(rest, authRequired: !session.authenticated, into: &args, pool: &pool)
                if case .command(_, let nameRange?) = step {
                    // Looked up from the buffer's bytes; the command gets the table's copy of its name.
                    let name = UnsafeRawBufferPointer(rebasing: rest[nameRange])
                    entry = CommandTable.lookup(name)
                    args[0] = entry?.nameBytes ?? Array(name)
                } else if case .command = step, let first = args.first {
                    entry = CommandTable.lookup(first)
                }
                return step
            }
            switch step {
            case .needMore:
                if buffer.count - readIndex > server.configuration.queryBufferLimit {
                    closing = true
                    context.close(promise: nil)
                }
                armIncompleteTimer(context)
                if wrote { flush(context) }
                return
            case .protocolError(let text):
                server.logger.info("Protocol error from client \(session.address): \(text); closing it")
                if replica == nil {
                    write(.err(text))
                    server.errorReplies += 1
                }
                closeAfterFlush(context)
                return
            case .command(let consumed, _):
                readIndex += consumed
                if let replica {
                    replica.received(args)
                    continue
                }
                batchCommands += 1
                let reply: Reply?
                let after: AfterReply
                if let e = entry, let family = e.family, !failoverGuardOnly {
                    // A read: against the batch's one context (built at the batch's first read).
                    if let refusal = commands.refusal(e, args, session) {
                        reply = refusal
                    } else {
                        if readTarget == nil { readTarget = ReadCommands.target(view(), session: session, nowMs: nowMs) }
                        if family == .streams && e.name == "xread", case .context(let ctx)? = readTarget {
                            reply = runBlockable(e.name, args, family: family, context: ctx)
                        } else {
                            reply = ReadCommands.run(e.name, args, family: family, target: readTarget.unsafelyUnwrapped)
                        }
                    }
                    after = .none
                } else {
                    // The server's counters are updated once per batch (each access to the server costs a
                    // retain/release pair), and before any command that may report them (INFO). Such a
                    // command may change the db or the protocol the batch's reads use.
                    flushCounters()
                    readTarget = nil
                    (reply, after) = commands.execute(entry, args, session, view: view, nowMs: nowMs)
                }
                if let reply {
                    if reply.isError { batchErrors += 1 }
                    write(reply)
                    wrote = true
                }
                if blocked != nil {
                    // Blocked: the connection's next commands wait until XREAD is answered (Redis does
                    // not read a blocked client's commands either).
                    if wrote { flush(context) }
                    return
                }
                switch after {
                case .none: break
                case .close:
                    closeAfterFlush(context)
                    return
                case .replicate(let replid, let offset, let isSync):
                    if wrote { flush(context) }
                    wrote = false
                    session.isReplica = true
                    replica = DownstreamReplica(server: server, handler: self, session: session)
                    replica?.start(replid: replid, offset: offset, isSync: isSync)
                }
            }
        }
        if blocked != nil && buffer.count - readIndex > server.configuration.queryBufferLimit {
            // A blocked client's commands wait in its query buffer, within the same limit.
            closing = true
            context.close(promise: nil)
            return
        }
        incompleteTimer?.cancel()
        incompleteTimer = nil
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 << 10)
            readIndex = 0
        }
        if wrote { flush(context) }
    }

    private func flush(_ context: ChannelHandlerContext) {
        sendPending()
        context.flush()
    }

    private func armIncompleteTimer(_ context: ChannelHandlerContext) {
        guard incompleteTimer == nil else { return }
        let ch = context.channel
        // On the handler's own loop (`assumeIsolated`), so the task may capture the loop-bound handler.
        incompleteTimer = context.eventLoop.assumeIsolated().scheduleTask(in: server.configuration.incompleteCommandTimeout) { [weak self] in
            guard let self, !self.closing else { return }
            self.server.logger.info("Closing client \(self.session.address): its command stayed incomplete for \(self.server.configuration.incompleteCommandTimeout)")
            self.closing = true
            ch.close(promise: nil)
        }
    }

    /// Replies encoded since the last send: a batch of pipelined commands goes out as one buffer.
    private var pending = ReplyBuffer()

    func write(_ reply: Reply) {
        guard channel != nil else { return }
        reply.encode(to: &pending, resp3: (session?.protocolVersion ?? 2) >= 3)
        if pending.count >= 64 << 10 { sendPending() }
    }

    /// Hands the gathered replies to the channel (not flushed).
    private func sendPending() {
        guard let ch = channel, !pending.isEmpty else { return }
        checkWritable = true
        server.netOutputBytes += Int64(pending.count)
        ch.write(pending.take(ch.allocator), promise: nil)
    }

    /// Writes raw bytes (the replication stream) and flushes when asked.
    func writeRaw(_ bytes: [UInt8], flush: Bool) {
        guard let ch = channel else { return }
        sendPending()
        server.netOutputBytes += Int64(bytes.count)
        if flush {
            ch.writeAndFlush(ch.allocator.buffer(bytes: bytes), promise: nil)
        } else {
            ch.write(ch.allocator.buffer(bytes: bytes), promise: nil)
        }
    }

    private func closeAfterFlush(_ context: ChannelHandlerContext) {
        sendPending()
        closing = true
        let ch = context.channel
        ch.writeAndFlush(ch.allocator.buffer(capacity: 0)).whenComplete { _ in ch.close(promise: nil) }
    }

    func close() {
        closing = true
        channel?.close(promise: nil)
    }

    static func isLoopback(_ a: SocketAddress?) -> Bool {
        guard let a else { return false }
        switch a {
        case .v4: return a.ipAddress?.hasPrefix("127.") ?? false
        case .v6: return a.ipAddress == "::1" || (a.ipAddress?.hasPrefix("::ffff:127.") ?? false)
        case .unixDomainSocket: return true
        }
    }

    static func describe(_ a: SocketAddress?) -> String {
        guard let a, let ip = a.ipAddress else { return "?" }
        if case .v6 = a { return "[\(ip)]:\(a.port ?? 0)" }
        return "\(ip):\(a.port ?? 0)"
    }
}

import CLI

await RedisReplicaCommand.runMain()

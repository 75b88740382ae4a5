import CLI

RedisReplicaCommand.main()

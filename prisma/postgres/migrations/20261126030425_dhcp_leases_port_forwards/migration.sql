-- CreateTable
CREATE TABLE "DhcpLease" (
    "id" TEXT NOT NULL,
    "networkId" TEXT NOT NULL,
    "mac" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "hostname" TEXT,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DhcpLease_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PortForward" (
    "id" TEXT NOT NULL,
    "machineId" TEXT NOT NULL,
    "hostPort" INTEGER NOT NULL,
    "guestPort" INTEGER NOT NULL,
    "nic" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PortForward_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DhcpLease_networkId_mac_key" ON "DhcpLease"("networkId", "mac");

-- CreateIndex
CREATE UNIQUE INDEX "DhcpLease_networkId_ip_key" ON "DhcpLease"("networkId", "ip");

-- CreateIndex
CREATE UNIQUE INDEX "PortForward_hostPort_key" ON "PortForward"("hostPort");

-- CreateIndex
CREATE INDEX "PortForward_machineId_idx" ON "PortForward"("machineId");

-- AddForeignKey
ALTER TABLE "DhcpLease" ADD CONSTRAINT "DhcpLease_networkId_fkey" FOREIGN KEY ("networkId") REFERENCES "Network"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PortForward" ADD CONSTRAINT "PortForward_machineId_fkey" FOREIGN KEY ("machineId") REFERENCES "Machine"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- CreateTable
CREATE TABLE "DhcpLease" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "networkId" TEXT NOT NULL,
    "mac" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "hostname" TEXT,
    "expiresAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "DhcpLease_networkId_fkey" FOREIGN KEY ("networkId") REFERENCES "Network" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PortForward" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "machineId" TEXT NOT NULL,
    "hostPort" INTEGER NOT NULL,
    "guestPort" INTEGER NOT NULL,
    "nic" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "PortForward_machineId_fkey" FOREIGN KEY ("machineId") REFERENCES "Machine" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "DhcpLease_networkId_mac_key" ON "DhcpLease"("networkId", "mac");

-- CreateIndex
CREATE UNIQUE INDEX "DhcpLease_networkId_ip_key" ON "DhcpLease"("networkId", "ip");

-- CreateIndex
CREATE UNIQUE INDEX "PortForward_hostPort_key" ON "PortForward"("hostPort");

-- CreateIndex
CREATE INDEX "PortForward_machineId_idx" ON "PortForward"("machineId");

